-- Ingest sessions: what a user (or the watcher) asked to import, every file it found, and how far each got.
-- The ingest service claims pending files with FOR UPDATE SKIP LOCKED and a lease, so a worker that dies
-- gives its files back when the lease runs out, and a restart resumes where the session was. A session's
-- library root is found again from the configured roots.

CREATE TABLE ingest_sessions (
    id                  bigserial PRIMARY KEY,
    root                text NOT NULL,                 -- the folder asked for (resolved, under a library root)
    subdirectories      text[] NOT NULL DEFAULT '{}',  -- relative to root; empty = all of root
    include             text[] NOT NULL DEFAULT '{}',
    exclude             text[] NOT NULL DEFAULT '{}',
    priority            smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 3),  -- high normal low bulk
    origin              text NOT NULL DEFAULT 'user',  -- user | watch
    request_id          text UNIQUE,                   -- the command that created it (redelivery: same session)
    paused              boolean NOT NULL DEFAULT false,
    discovery_complete  boolean NOT NULL DEFAULT false,
    cancelled_at        timestamptz,
    finished_at         timestamptz,                   -- discovery complete and no file pending or working
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ingest_sessions_open ON ingest_sessions (priority, id) WHERE finished_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX ingest_sessions_created ON ingest_sessions (created_at DESC);

CREATE TABLE session_files (
    session_id    bigint NOT NULL REFERENCES ingest_sessions (id) ON DELETE CASCADE,
    path          text NOT NULL,
    seq           bigserial,                           -- discovery order: files are claimed first found, first read
    subdirectory  text NOT NULL DEFAULT '',            -- which of the session's subdirectories ('' = root)
    size_bytes    bigint NOT NULL,
    mtime_ns      bigint NOT NULL,
    state         text NOT NULL DEFAULT 'pending',     -- pending | working | ingested | unchanged | failed | cancelled
    image_id      text,
    error         text,
    attempts      integer NOT NULL DEFAULT 0,          -- claims; a file that keeps killing its worker fails
    owner         text,                                -- the worker holding the lease
    lease_until   timestamptz,
    done_at       timestamptz,
    PRIMARY KEY (session_id, path)
);
-- Claiming: the open files of a session in discovery order (pending, or working with a lease that may expire).
CREATE INDEX session_files_open ON session_files (session_id, seq) WHERE state IN ('pending', 'working');
CREATE INDEX session_files_owner ON session_files (owner) WHERE state = 'working';
-- Progress: counts per state and subdirectory, the failures page, and the image join for later stages.
CREATE INDEX session_files_progress ON session_files (session_id, subdirectory, state);
CREATE INDEX session_files_done ON session_files (session_id, done_at) WHERE done_at IS NOT NULL;
CREATE INDEX session_files_image ON session_files (image_id) WHERE image_id IS NOT NULL;
CREATE INDEX images_embedded_at ON images (embedded_at) WHERE embedded_at IS NOT NULL;
CREATE INDEX images_faces_at ON images (faces_at) WHERE faces_at IS NOT NULL;
