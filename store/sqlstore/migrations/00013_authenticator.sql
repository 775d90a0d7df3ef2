-- +goose Up
-- ward Authenticator: paired devices (public keys), pairing codes waiting
-- for a device, and approval prompts with number matching.
CREATE TABLE authenticator_devices (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX authenticator_devices_account ON authenticator_devices (account_id, created_at);

CREATE TABLE authenticator_pairings (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;

CREATE TABLE authenticator_prompts (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    flow_id     TEXT NOT NULL,
    number      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    context     TEXT NOT NULL,
    state       TEXT NOT NULL,
    device_id   TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    answered_at BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX authenticator_prompts_account ON authenticator_prompts (account_id, created_at);
CREATE INDEX authenticator_prompts_flow ON authenticator_prompts (flow_id, created_at);

-- +goose Down
DROP TABLE authenticator_prompts;
DROP TABLE authenticator_pairings;
DROP TABLE authenticator_devices;
