-- +goose Up
-- Requests counted per key (an endpoint and a source network) and fixed
-- window, for the per-IP request limits every instance shares.
CREATE TABLE rate_hits (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) /*sqlite: WITHOUT ROWID*/;

-- +goose Down
DROP TABLE rate_hits;
