-- The guest list filters on the effective grade (the override wins): indexed as that very
-- expression, in id order, so `grade=vvip` with a common `q` walks the few VVIPs in page order.
-- It replaces the index on the computed grade alone, which no query used.
CREATE INDEX customers_effective_grade_idx ON customers (coalesce(grade_override, grade), id);
DROP INDEX customers_grade_idx;
-- A common `q` walks guests in id order testing their search text (dialect::TextPlan::Walk):
-- with the text beside the id, the walk reads this index alone, not each guest's row.
CREATE INDEX customers_id_search_text_idx ON customers (id, search_text);
