-- The watcher asks, for each batch of files it found, which of them wait in an open ingest session
-- (session_files WHERE path = ANY(...) AND state IN ('pending', 'working')): without an index on path
-- that reads every session file ever recorded. Partial, with the query's predicate exactly, so it stays
-- as small as the open work and the planner can use it.
CREATE INDEX session_files_open_path ON session_files (path) WHERE state IN ('pending', 'working');
