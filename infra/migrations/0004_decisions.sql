-- Serving's decision records (pipelines/decisions) and the outcomes that answer them.
-- Like every ingested table, ReplacingMergeTree with a sorting key that a
-- replayed Kafka message lands on again; read with FINAL.

-- One row per /v1/recommend response. exploration is none, epsilon-greedy or
-- softmax with its parameter (epsilon or temperature; 0 when unused);
-- retrieval_model is '' (version 0) when candidates did not come from the index.
CREATE TABLE IF NOT EXISTS decisions
(
    request_id String,
    ts UInt64,
    user_id String,
    ranker_model String,
    ranker_version UInt32,
    retrieval_model String,
    retrieval_version UInt32,
    exploration String,
    epsilon Float64,
    temperature Float64,
    k UInt16,
    candidates UInt16,
    shown UInt16,
    context String,
    schema_version UInt16,
    kafka_partition Int32 DEFAULT -1,
    kafka_offset Int64 DEFAULT -1,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000)))
ORDER BY (ts, request_id);

-- The candidate set of each decision, one row per candidate: its rank by model
-- score, the model's score, the retrieval score (NULL when not retrieved) and,
-- for shown items, the position (0-based; -1 = not shown) and the propensity
-- (probability of that item at that position given the positions before it).
CREATE TABLE IF NOT EXISTS decision_items
(
    request_id String,
    ts UInt64,
    user_id String,
    item_id String,
    candidate_rank UInt16,
    score Float32,
    retrieval_score Nullable(Float32),
    position Int16,
    propensity Float64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000)))
ORDER BY (ts, request_id, candidate_rank);

-- Outcomes: interactions that reference a served request (events.request_id),
-- kept by request so they join to decisions cheaply. Filled from events by the
-- materialized view below on every insert, and once from the events already stored.
CREATE TABLE IF NOT EXISTS outcomes
(
    request_id String,
    event_id String,
    event_type String,
    ts UInt64,
    user_id String,
    item_id String,
    label Nullable(UInt8),
    value Nullable(Float64)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000)))
ORDER BY (request_id, item_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS outcomes_mv TO outcomes AS
SELECT request_id, event_id, event_type, ts, user_id, item_id, label, value
FROM events
WHERE request_id != '';

INSERT INTO outcomes (request_id, event_id, event_type, ts, user_id, item_id, label, value)
SELECT request_id, event_id, event_type, ts, user_id, item_id, label, value
FROM events
WHERE request_id != '';
