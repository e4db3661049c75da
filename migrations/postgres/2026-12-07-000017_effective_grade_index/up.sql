-- The guest list filters on the effective grade (the override wins): indexed as that very
-- expression, in id order, so `grade=vvip` with a `q` walks the few VVIPs in page order
-- instead of testing the grade of every guest the text matches (measured at 1,000,000 guests:
-- q + grade p95 75 → 9 ms). It replaces the index on the computed grade alone, which no query
-- used.
CREATE INDEX customers_effective_grade_idx ON customers ((coalesce(grade_override, grade)), id);
DROP INDEX customers_grade_idx;
