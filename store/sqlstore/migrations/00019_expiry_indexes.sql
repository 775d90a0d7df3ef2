-- +goose Up
-- The sweep (DeleteExpired) finds expired rows by the time they are kept
-- to. These tables grow with every sign-in (or every app's token, or
-- every push), and without an index each sweep read all their rows while
-- holding SQLite's one writer.
CREATE INDEX codes_created ON codes (created_at);
CREATE INDEX flows_expiry ON flows (expires_at);
CREATE INDEX link_tokens_expiry ON link_tokens (expires_at);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);
CREATE INDEX authenticator_prompts_expiry ON authenticator_prompts (expires_at);
CREATE INDEX rate_hits_window ON rate_hits (window_start);

-- +goose Down
DROP INDEX codes_created;
DROP INDEX flows_expiry;
DROP INDEX link_tokens_expiry;
DROP INDEX oidc_tokens_expiry;
DROP INDEX authenticator_prompts_expiry;
DROP INDEX rate_hits_window;
