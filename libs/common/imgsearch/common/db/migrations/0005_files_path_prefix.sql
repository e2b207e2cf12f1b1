-- The library watcher lists the files rows below a folder (path LIKE '/folder/%'): an index range scan
-- instead of reading every row of the library on each file-system event.
CREATE INDEX files_path_prefix ON files (path text_pattern_ops);
