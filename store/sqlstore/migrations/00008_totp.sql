-- +goose Up
-- Authenticator apps (TOTP): the secret sealed, and the step of the last
-- code accepted, so that no code is accepted twice.
CREATE TABLE totp_authenticators (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX totp_authenticators_account ON totp_authenticators (account_id, created_at);

-- +goose Down
DROP TABLE totp_authenticators;
