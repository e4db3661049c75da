CREATE INDEX customers_grade_idx ON customers (grade, id);
DROP INDEX customers_effective_grade_idx;
