-- The offline store of interaction events (impressions, clicks, ratings).
-- ReplacingMergeTree keyed by (user_id, ts, event_id): a replayed event lands on
-- the same key and collapses, and per-user time-ordered reads follow the key.
-- ts is epoch milliseconds as UInt64 (DateTime64 is not on 18.16).
CREATE TABLE IF NOT EXISTS events
(
    event_id String,
    event_type String,
    ts UInt64,
    user_id String,
    item_id String,
    value Nullable(Float64),
    request_id String,
    context String,
    schema_version UInt16,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000)))
ORDER BY (user_id, ts, event_id);
