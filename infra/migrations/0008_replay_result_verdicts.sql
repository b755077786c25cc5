-- Per replay result row: the support diagnostic (share of the target's
-- item-position mass where the logging policy can show items), the verdict
-- ('reliable' / 'unreliable: <reason>', '' for rows that are not policy
-- values) and a note that says why any value of the row is missing.
ALTER TABLE replay_results ADD COLUMN support Nullable(Float64) AFTER clip_rate;
ALTER TABLE replay_results ADD COLUMN verdict String DEFAULT '' AFTER support;
ALTER TABLE replay_results ADD COLUMN note String DEFAULT '' AFTER verdict;
