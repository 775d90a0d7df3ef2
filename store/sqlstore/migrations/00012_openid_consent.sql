-- +goose Up
-- What a person allowed a third-party app (the operator's own apps ask
-- no consent).
CREATE TABLE oidc_consents (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
) /*sqlite: WITHOUT ROWID*/;

-- +goose Down
DROP TABLE oidc_consents;
