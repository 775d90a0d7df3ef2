-- +goose Up
-- Every index is written by every insert into its table, on the path of
-- every sign-in. These two only narrowed reads that others serve as well:
-- an account's successful sign-ins are read through events_result
-- (account_id, result = 'success', at), where the few other successes
-- are passed over; and a recipient's messages of one kind in the last
-- day through messages_recipient (recipient, created_at), where the send
-- limits keep that day's messages few.
DROP INDEX events_signed_in;
DROP INDEX messages_kind_recipient;

-- +goose Down
CREATE INDEX events_signed_in ON events (account_id, at) WHERE kind = 'sign_in' AND result = 'success';
CREATE INDEX messages_kind_recipient ON messages (recipient, kind, created_at);
