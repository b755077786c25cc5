-- The model registry's events (pipelines/registry): one row per publish,
-- promote and rollback, mirroring the registry folder, which stays the source
-- of truth (a registry used without services has no rows here).
-- event_id is stable per event (`<model>:v<version>:publish`,
-- `<model>:serving:g<generation>`) and event_ts is the artifact's creation time
-- (publish) or the alias change's time, so a re-sent event lands on the same
-- key and collapses (read with FINAL).
-- Times are epoch milliseconds as UInt64 (no DateTime64 on 18.16); metrics are
-- parallel name/value arrays (no Map on 18.16): read one with
-- metric_values[indexOf(metric_names, 'auc')]. offsets is the trainer's source
-- offsets as JSON ('' when none).
CREATE TABLE IF NOT EXISTS model_registry
(
    event_id String,
    event_kind String,
    registry String,
    model String,
    version UInt32,
    alias String,
    previous_version Nullable(UInt32),
    parent_version Nullable(UInt32),
    generation UInt32,
    model_type String,
    artifact_kind String,
    created_at UInt64,
    event_ts UInt64,
    trained_until Nullable(UInt64),
    metric_names Array(String),
    metric_values Array(Float64),
    offsets String,
    actor String,
    reason String,
    host String,
    recorded_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(event_ts, 1000)))
ORDER BY (model, registry, event_id);
