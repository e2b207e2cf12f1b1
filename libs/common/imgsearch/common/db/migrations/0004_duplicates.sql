-- Near duplicates: perceptual hashes per image (slot 0 = the whole picture, 1..5 = square windows along
-- the long side) with their four 16-bit bands indexed, and the pairs found at ingest (a < b).
-- Exact duplicates need nothing new: one image (content hash) with several rows in files.

CREATE TABLE image_hashes (
    image_id  text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    slot      smallint NOT NULL,
    hash      bigint NOT NULL,                    -- 64-bit DCT hash, stored signed
    band0     integer GENERATED ALWAYS AS ((hash >> 48) & 65535) STORED,
    band1     integer GENERATED ALWAYS AS ((hash >> 32) & 65535) STORED,
    band2     integer GENERATED ALWAYS AS ((hash >> 16) & 65535) STORED,
    band3     integer GENERATED ALWAYS AS (hash & 65535) STORED,
    PRIMARY KEY (image_id, slot)
);
CREATE INDEX image_hashes_band0 ON image_hashes (band0);
CREATE INDEX image_hashes_band1 ON image_hashes (band1);
CREATE INDEX image_hashes_band2 ON image_hashes (band2);
CREATE INDEX image_hashes_band3 ON image_hashes (band3);

CREATE TABLE near_duplicates (
    a          text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    b          text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    distance   smallint NOT NULL,
    found_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (a, b),
    CHECK (a < b)
);
CREATE INDEX near_duplicates_b ON near_duplicates (b);
