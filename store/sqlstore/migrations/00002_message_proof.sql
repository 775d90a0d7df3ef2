-- +goose Up
-- What lets ward prove a message is its own from the text alone: the
-- reference its body shows, and a keyed digest of the secrets it carried
-- (kept after the secrets themselves are erased).
ALTER TABLE messages ADD COLUMN ref TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN digest TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_ref ON messages (ref) WHERE ref <> '';

-- +goose Down
DROP INDEX messages_ref;
ALTER TABLE messages DROP COLUMN digest;
ALTER TABLE messages DROP COLUMN ref;
