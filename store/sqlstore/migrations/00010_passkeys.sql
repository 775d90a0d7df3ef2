-- +goose Up
-- Passkeys: go-webauthn's credential record as JSON, with the columns
-- ward looks them up and lists them by.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    credential_id   TEXT NOT NULL UNIQUE,
    credential      TEXT NOT NULL,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backed_up       INTEGER NOT NULL DEFAULT 0,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX passkeys_account ON passkeys (account_id, created_at);

-- A WebAuthn ceremony between its challenge and the browser's answer:
-- taken (deleted) by the answer, so each challenge is answered once.
CREATE TABLE passkey_ceremonies (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    ref        TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);

-- +goose Down
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
