-- The user-side features the ranker was given for a decision (JSON: history
-- item ids newest first, user attributes), so the A/B replay re-scores on what
-- serving saw. '' for decisions logged before serving recorded them.
ALTER TABLE decisions ADD COLUMN features String DEFAULT '' AFTER context;
