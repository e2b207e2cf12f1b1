-- The library watcher looks for moves by size: a new file whose size matches an image that lost its path
-- is hashed to see whether it is that image. Without this index each such lookup reads every image.
CREATE INDEX images_size_bytes ON images (size_bytes);
