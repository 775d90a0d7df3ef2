-- +goose Up
-- The OpenID Connect provider: apps, authorization requests (grants)
-- until their code is exchanged, tokens, and signing keys.
CREATE TABLE oidc_clients (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    secret_hash      TEXT NOT NULL DEFAULT '',
    redirect_uris    TEXT NOT NULL,
    post_logout_uris TEXT NOT NULL DEFAULT '[]',
    first_party      INTEGER NOT NULL DEFAULT 0,
    backchannel_uri  TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;

CREATE TABLE oidc_grants (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    request    TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    auth_time  BIGINT NOT NULL DEFAULT 0,
    method     TEXT NOT NULL DEFAULT '',
    done       INTEGER NOT NULL DEFAULT 0,
    code_hash  TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX oidc_grants_code ON oidc_grants (code_hash) WHERE code_hash <> '';
CREATE INDEX oidc_grants_expiry ON oidc_grants (expires_at);

CREATE TABLE oidc_tokens (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    token_hash TEXT NOT NULL DEFAULT '',
    family     TEXT NOT NULL DEFAULT '',
    client_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    session_id TEXT NOT NULL DEFAULT '',
    scopes     TEXT NOT NULL,
    method     TEXT NOT NULL DEFAULT '',
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX oidc_tokens_hash ON oidc_tokens (token_hash) WHERE token_hash <> '';
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
CREATE INDEX oidc_tokens_account ON oidc_tokens (account_id, client_id);

CREATE TABLE oidc_keys (
    id         TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    private    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
) /*sqlite: WITHOUT ROWID*/;

-- +goose Down
DROP TABLE oidc_keys;
DROP TABLE oidc_tokens;
DROP TABLE oidc_grants;
DROP TABLE oidc_clients;
