-- Images keyed by content hash; the files (paths) that hold them; failures; dead letters.

CREATE TABLE images (
    id               text PRIMARY KEY,            -- sha256 of content, hex
    size_bytes       bigint NOT NULL,
    width            integer,
    height           integer,
    format           text,
    taken_at         timestamptz,
    taken_at_source  text,                        -- exif:DateTimeOriginal | exif:DateTime | file:mtime ...
    gps_lat          double precision,
    gps_lon          double precision,
    gps_alt          double precision,
    camera_make      text,
    camera_model     text,
    orientation      smallint,
    thumbnail_path   text,
    ingest_status    text NOT NULL DEFAULT 'ingested',
    embed_status     text NOT NULL DEFAULT 'pending',   -- pending | embedded | failed
    embed_error      text,
    embed_model      text,
    embedded_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX images_taken_at ON images (taken_at);
CREATE INDEX images_embed_status ON images (embed_status);

-- One row per file seen under a library root, good or bad. A file that can't be read still gets a
-- row with status 'failed' and the reason: nothing is lost silently.
CREATE TABLE files (
    path          text PRIMARY KEY,
    library_root  text NOT NULL,
    image_id      text REFERENCES images (id) ON DELETE SET NULL,
    size_bytes    bigint,
    mtime_ns      bigint,
    status        text NOT NULL,                  -- ingested | failed
    error         text,
    seen_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_image_id ON files (image_id);
CREATE INDEX files_status ON files (status);

CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    stream        text NOT NULL,
    consumer      text NOT NULL,
    subject       text NOT NULL,
    stream_seq    bigint NOT NULL,
    deliveries    integer NOT NULL,
    reason        text NOT NULL,
    payload       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream, consumer, stream_seq)
);
