-- The caller's own x-request-id of a /v1/recommend call, kept beside the
-- server-generated request_id (the decision's key) so a client can find its
-- call without ever choosing a key: two calls that send the same header are
-- still two decisions. '' when the caller sent none (and for decisions
-- ingested before this column existed).
ALTER TABLE decisions ADD COLUMN client_request_id String DEFAULT '' AFTER request_id;
