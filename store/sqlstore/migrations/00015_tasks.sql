-- +goose Up
-- Background work ward committed to do (package jobs): written in the
-- transaction of the change it belongs to, claimed with a lease, deleted
-- when done. lease_until 0: not claimed.
CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    run_at      BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX tasks_due ON tasks (run_at);

-- +goose Down
DROP TABLE tasks;
