-- +goose Up
-- Two-step verification: when it was turned on (NULL: off).
ALTER TABLE accounts ADD COLUMN two_step_at BIGINT;

-- Recovery codes: each kept only as a keyed digest, used at most once; a
-- new set replaces the old one.
CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    digest     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE UNIQUE INDEX recovery_codes_digest ON recovery_codes (account_id, digest);

-- +goose Down
DROP TABLE recovery_codes;
ALTER TABLE accounts DROP COLUMN two_step_at;
