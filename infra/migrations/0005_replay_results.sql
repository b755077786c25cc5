-- Results of offline A/B replay jobs (pipelines/replay): one row per job × model × metric.
-- arm: a, b (the two models), b-a (their difference), logging (the logging
-- policy's own value) or window (counts of what was replayed). value/lo/hi:
-- the estimate and its user-level bootstrap 95% interval (NULL when undefined);
-- ess/max_weight/clip_rate: importance-weight diagnostics of policy estimators.
-- A retried job writes the same rows again; read with FINAL.
CREATE TABLE IF NOT EXISTS replay_results
(
    job_id String,
    arm String,
    model String,
    metric String,
    value Nullable(Float64),
    lo Nullable(Float64),
    hi Nullable(Float64),
    ess Nullable(Float64),
    max_weight Nullable(Float64),
    clip_rate Nullable(Float64),
    n UInt64,
    window_from UInt64,
    window_to UInt64,
    computed_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
ORDER BY (job_id, arm, metric);
