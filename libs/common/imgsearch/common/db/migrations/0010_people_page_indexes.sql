-- The People pages on a big library (bench/bench_ui.py, `make bench-ui`), each a range of an index instead
-- of reading and sorting every face of a person on each request (~20k for someone on a fifth of 100k
-- photos): a person's faces best first (pinned, prototypes, then quality: the cover, the faces pages, the
-- prototypes of the eras section), a person's photos newest first (a person is once per photo, so their
-- faces are their photos; faces.taken_at is the photo's EXIF date), and the eras a person's prototypes
-- cover (a small partial index).
CREATE INDEX faces_person_best ON faces (person_id, pinned DESC, prototype DESC, quality DESC, id);
CREATE INDEX faces_person_photos ON faces (person_id, taken_at DESC NULLS LAST, image_id);
CREATE INDEX faces_person_prototypes ON faces (person_id, era) WHERE prototype OR pinned;
