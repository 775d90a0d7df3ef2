-- +goose Up
-- Where a paired authenticator receives Web Push messages (its browser's
-- push subscription); empty when it gave none.
ALTER TABLE authenticator_devices ADD COLUMN push_endpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE authenticator_devices ADD COLUMN push_p256dh TEXT NOT NULL DEFAULT '';
ALTER TABLE authenticator_devices ADD COLUMN push_auth TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE authenticator_devices DROP COLUMN push_auth;
ALTER TABLE authenticator_devices DROP COLUMN push_p256dh;
ALTER TABLE authenticator_devices DROP COLUMN push_endpoint;
