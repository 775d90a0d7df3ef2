-- +goose Up
-- Written once for SQLite and PostgreSQL. A /*sqlite: …*/ comment is
-- SQL that only SQLite gets: WITHOUT ROWID stores a table in its primary
-- key's B-tree instead of beside a separate index, one write less per insert.
-- Times are UTC microseconds since the Unix epoch in both SQLite and
-- PostgreSQL, so that comparisons and ordering mean the same on both.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    phone         TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    language      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
) /*sqlite: WITHOUT ROWID*/;

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    is_primary  INTEGER NOT NULL DEFAULT 0,
    verified_at BIGINT,
    created_at  BIGINT NOT NULL,
    UNIQUE (account_id, kind, value)
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX contacts_value ON contacts (kind, value);

CREATE TABLE flows (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL,
    recipient  TEXT NOT NULL DEFAULT '',
    channel    TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    device_id  TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;

CREATE TABLE codes (
    id            TEXT PRIMARY KEY,
    flow_id       TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    channel       TEXT NOT NULL,
    recipient_key TEXT NOT NULL,
    hash          TEXT NOT NULL,
    ip            TEXT NOT NULL DEFAULT '',
    failures      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    replaced_at   BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX codes_flow ON codes (flow_id, created_at);
CREATE INDEX codes_recipient ON codes (recipient_key, created_at);
CREATE INDEX codes_ip ON codes (ip, created_at);

CREATE TABLE failure_counters (
    subject      TEXT NOT NULL,
    factor       TEXT NOT NULL,
    consecutive  INTEGER NOT NULL,
    last_at      BIGINT NOT NULL,
    locked_until BIGINT,
    disabled_at  BIGINT,
    PRIMARY KEY (subject, factor)
) /*sqlite: WITHOUT ROWID*/;

CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    language     TEXT NOT NULL,
    account_id   TEXT NOT NULL DEFAULT '',
    flow_id      TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL,
    secret       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    relay        TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    sent_at      BIGINT,
    expires_at   BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX messages_recipient ON messages (recipient, created_at);
CREATE INDEX messages_flow ON messages (flow_id) WHERE flow_id <> '';

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL,
    device_id    TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    method       TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    step_up_at   BIGINT,
    revoked_at   BIGINT
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    browser    TEXT NOT NULL DEFAULT '',
    os         TEXT NOT NULL DEFAULT '',
    last_ip    TEXT NOT NULL DEFAULT '',
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    UNIQUE (account_id, token_hash)
) /*sqlite: WITHOUT ROWID*/;

-- Append-only: nothing looks an event up by id, so it has no index.
CREATE TABLE events (
    id         TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    result     TEXT NOT NULL,
    method     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    device_id  TEXT NOT NULL DEFAULT '',
    device     TEXT NOT NULL DEFAULT '',
    flow_id    TEXT NOT NULL DEFAULT '',
    reasons    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_account ON events (account_id, at);
CREATE INDEX events_signed_in_ip ON events (account_id, ip) WHERE kind = 'sign_in' AND result = 'success';

CREATE TABLE link_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    purpose    TEXT NOT NULL,
    account_id TEXT NOT NULL,
    contact_id TEXT NOT NULL DEFAULT '',
    flow_id    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
) /*sqlite: WITHOUT ROWID*/;

-- +goose Down
DROP TABLE link_tokens;
DROP TABLE events;
DROP TABLE devices;
DROP TABLE sessions;
DROP TABLE messages;
DROP TABLE failure_counters;
DROP TABLE codes;
DROP TABLE flows;
DROP TABLE contacts;
DROP TABLE accounts;
