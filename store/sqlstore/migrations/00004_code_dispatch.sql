-- +goose Up
-- A code's mail is written after the request's answer, by whichever
-- comes first of the instance that answered and the durable job; the
-- first to set dispatched_at does it, the other nothing.
ALTER TABLE codes ADD COLUMN dispatched_at BIGINT;

-- +goose Down
ALTER TABLE codes DROP COLUMN dispatched_at;
