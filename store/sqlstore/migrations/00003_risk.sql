-- +goose Up
-- Sign-in alias: an owner can refuse sign-in by the public email address
-- and sign in only with a private alias.
ALTER TABLE accounts ADD COLUMN alias TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN alias_only INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX accounts_alias ON accounts (alias) WHERE alias <> '';

-- A contact added lately waits before it can be used to recover the
-- account (unless confirmed from an existing contact).
ALTER TABLE contacts ADD COLUMN recovery_after BIGINT;

-- Which security notices an account wants on which channel; a missing
-- row means the default (on).
CREATE TABLE notification_prefs (
    account_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    channel    TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    PRIMARY KEY (account_id, event, channel)
) /*sqlite: WITHOUT ROWID*/;

-- "This wasn't me" on a code mail: codes to that recipient requested from
-- that source (IP, network, device) are not sent until the given time.
CREATE TABLE suppressions (
    recipient_key TEXT NOT NULL,
    source        TEXT NOT NULL,
    until_at      BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (recipient_key, source)
) /*sqlite: WITHOUT ROWID*/;

-- A "this wasn't me" link remembers who asked for the code, after the
-- flow itself is gone.
ALTER TABLE link_tokens ADD COLUMN detail TEXT NOT NULL DEFAULT '';

-- What the risk engine reads: an account's successful sign-ins, and
-- everything one IP did lately.
CREATE INDEX events_signed_in ON events (account_id, at) WHERE kind = 'sign_in' AND result = 'success';
CREATE INDEX events_ip ON events (ip, at) WHERE ip <> '';
-- The dashboard's filter by result.
CREATE INDEX events_result ON events (account_id, result, at);
CREATE INDEX messages_kind_recipient ON messages (recipient, kind, created_at);

-- +goose Down
DROP INDEX messages_kind_recipient;
DROP INDEX events_result;
DROP INDEX events_ip;
DROP INDEX events_signed_in;
DROP TABLE suppressions;
DROP TABLE notification_prefs;
ALTER TABLE link_tokens DROP COLUMN detail;
DROP INDEX accounts_alias;
ALTER TABLE contacts DROP COLUMN recovery_after;
ALTER TABLE accounts DROP COLUMN alias_only;
ALTER TABLE accounts DROP COLUMN alias;
