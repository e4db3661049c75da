-- PostgreSQL raises its planner statistics for the search columns here; SQLite's planner needs
-- none (the FTS5 trigram table serves substring search). Kept so both trees carry the same names.
PRAGMA optimize;
