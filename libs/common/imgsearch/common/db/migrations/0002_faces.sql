-- Faces: the backend recorded for the library, people, clusters, faces, corrections, clustering runs.

-- Which face backend built the faces of this library (one row). Embeddings of different backends live in
-- different spaces: switching is an explicit re-index, never silent.
CREATE TABLE face_backend (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    backend      text NOT NULL,                 -- insightface | dlib
    model        text NOT NULL,                 -- e.g. buffalo_l, dlib_face_recognition_resnet_model_v1
    dim          integer NOT NULL,
    reason       text NOT NULL DEFAULT '',      -- why this backend (e.g. "no buffalo_l in /models")
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE people (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    hidden       boolean NOT NULL DEFAULT false,
    birth_date   date,
    merged_into  bigint REFERENCES people (id) ON DELETE SET NULL,  -- set when merged away
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_name ON people (lower(name));

-- Clusters of unassigned faces proposed by the clustering service. Ids stay stable across runs where
-- membership overlaps; a cluster with no members left is deleted.
CREATE TABLE face_clusters (
    id           bigserial PRIMARY KEY,
    size         integer NOT NULL DEFAULT 0,
    hidden       boolean NOT NULL DEFAULT false,
    created_run  bigint,
    updated_run  bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE faces (
    id           uuid PRIMARY KEY,
    image_id     text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    x1           integer NOT NULL,              -- box in pixels of the upright (EXIF-oriented) image
    y1           integer NOT NULL,
    x2           integer NOT NULL,
    y2           integer NOT NULL,
    det_score    real NOT NULL,                 -- detector confidence 0..1
    quality      real NOT NULL,                 -- 0..1 (score, size, sharpness, pose)
    sharpness    real,
    yaw          real,                          -- degrees, estimated from landmarks
    pitch        real,
    roll         real,
    landmarks    real[],                        -- 5 points x,y
    age          real,                          -- estimated (InsightFace), null otherwise
    sex          text,                          -- F | M (InsightFace), null otherwise
    embedding    bytea NOT NULL,                -- float32 little-endian, the backend's dim, unit length
    crop_path    text,                          -- relative to the face crops folder
    taken_at     timestamptz,                   -- the photo's date, for eras
    person_id    bigint REFERENCES people (id) ON DELETE SET NULL,
    assigned_by  text,                          -- user | auto (null when unassigned)
    confidence   real,                          -- of an automatic assignment
    assigned_at  timestamptz,
    cluster_id   bigint REFERENCES face_clusters (id) ON DELETE SET NULL,
    cluster_excluded boolean NOT NULL DEFAULT false, -- a user took it out of its cluster: no clustering run
                                    -- puts it in one (cleared when it gets a person or is unassigned)
    era          text,                          -- infant | child | teen | young_adult | adult | senior
    prototype    boolean NOT NULL DEFAULT false,-- chosen as one of its person's prototypes
    pinned       boolean NOT NULL DEFAULT false,-- pinned by a user as a prototype
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX faces_image ON faces (image_id);
CREATE INDEX faces_person ON faces (person_id);
CREATE INDEX faces_cluster ON faces (cluster_id);
-- A person appears at most once per photo. The repositories keep this under row locks; the index is the
-- backstop that makes a missed case fail loudly instead of storing it.
CREATE UNIQUE INDEX faces_person_once_per_image ON faces (image_id, person_id) WHERE person_id IS NOT NULL;
-- "Unassigned faces changed since the last clustering run" (every write that changes person, cluster or
-- embedding sets updated_at).
CREATE INDEX faces_unassigned ON faces (updated_at) WHERE person_id IS NULL;

-- "Not this person": honoured by every later match, propagation and clustering run.
CREATE TABLE face_rejections (
    face_id      uuid NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    person_id    bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (face_id, person_id)
);
CREATE INDEX face_rejections_person ON face_rejections (person_id);

CREATE TABLE clustering_runs (
    id           bigserial PRIMARY KEY,
    full_run     boolean NOT NULL,
    reason       text NOT NULL,
    faces        integer NOT NULL DEFAULT 0,
    clusters     integer NOT NULL DEFAULT 0,
    noise        integer NOT NULL DEFAULT 0,
    new_clusters integer NOT NULL DEFAULT 0,
    params       jsonb NOT NULL DEFAULT '{}',
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- Per-image face stage status, like embed_status.
ALTER TABLE images ADD COLUMN faces_status text NOT NULL DEFAULT 'pending';  -- pending | done | failed
ALTER TABLE images ADD COLUMN faces_error text;
ALTER TABLE images ADD COLUMN faces_count integer;
ALTER TABLE images ADD COLUMN faces_at timestamptz;
CREATE INDEX images_faces_status ON images (faces_status);
