-- The offline store as ingestion writes it (pipelines/ingest).
-- Every table is a ReplacingMergeTree whose sorting key ends in the event id
-- (or the Kafka position for dead letters): a batch replayed after a crash
-- lands on the same keys, and reads collapse duplicates with FINAL.

-- Interactions keep their binary label and where they came from in Kafka
-- (partition, offset; -1 when not ingested from Kafka), so an operator can
-- compare the stores with the committed consumer offsets.
ALTER TABLE events ADD COLUMN label Nullable(UInt8) AFTER value;
ALTER TABLE events ADD COLUMN kafka_partition Int32 DEFAULT -1;
ALTER TABLE events ADD COLUMN kafka_offset Int64 DEFAULT -1;

-- Attribute updates, one row per update (a history, not the latest state), so
-- point-in-time reads see an entity's attributes as they were at any time.
-- attributes is the update's JSON object; a reader merges updates in ts order.
CREATE TABLE IF NOT EXISTS item_attributes
(
    event_id String,
    ts UInt64,
    item_id String,
    attributes String,
    schema_version UInt16,
    kafka_partition Int32 DEFAULT -1,
    kafka_offset Int64 DEFAULT -1,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000)))
ORDER BY (item_id, ts, event_id);

CREATE TABLE IF NOT EXISTS user_attributes
(
    event_id String,
    ts UInt64,
    user_id String,
    attributes String,
    schema_version UInt16,
    kafka_partition Int32 DEFAULT -1,
    kafka_offset Int64 DEFAULT -1,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000)))
ORDER BY (user_id, ts, event_id);

-- Messages that failed validation, keyed by their position in Kafka (the same
-- bad message replayed collapses). payload_base64 holds the original bytes
-- (truncated to 64 KiB; payload_bytes is the full size).
CREATE TABLE IF NOT EXISTS dead_letters
(
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    kafka_ts UInt64,
    kind String,
    reason String,
    message_key String,
    payload_base64 String,
    payload_bytes UInt32,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(kafka_ts, 1000)))
ORDER BY (source_topic, source_partition, source_offset);
