-- Session progress without reading every file of the session: how many files of each session there are
-- per subdirectory, file state and the status of the file's image, kept by triggers on session_files and
-- images (every writer, in its own transaction). A progress read sums a few dozen rows instead of
-- joining a million; the rates over the last minute read the recent rows through the done_at /
-- embedded_at / faces_at indexes (migration 0003).

CREATE TABLE session_counts (
    session_id    bigint NOT NULL,
    subdirectory  text NOT NULL,
    state         text NOT NULL,          -- session_files.state
    embed_status  text NOT NULL,          -- of the file's image; '' = no image
    faces_status  text NOT NULL,
    files         bigint NOT NULL,        -- rows may reach 0 and stay
    PRIMARY KEY (session_id, subdirectory, state, embed_status, faces_status)
);

-- Concurrency: every writer of session_files or images adjusts the counts in its own transaction, each
-- seeing only what was committed when its trigger reads. A file written while its image is written must
-- be counted exactly once under the image's final statuses, so the two triggers serialise per image on
-- transaction-level advisory locks keyed hashtextextended(image id, 0): the session_files trigger takes
-- them shared, the images triggers exclusive, always in key order and before reading the other table.
-- Whichever waits reads after the other committed: PL/pgSQL runs each statement of a VOLATILE function
-- with a new snapshot in READ COMMITTED (the isolation every writer here uses; under REPEATABLE READ the
-- wait would not help), so the statement after the lock sees the other's rows, while the one that went
-- first could not see the waiter's uncommitted rows. This covers an image still being inserted too (a
-- row lock could not). Advisory locks write no tuples, and an image writer already holds the row lock on
-- each image it locks, so image writers never wait on each other through them.
-- Each lock takes a slot in the shared lock table (max_locks_per_transaction x connections), so a
-- statement touching more than 1000 images takes one of two table-wide keys instead (7007, 1 and 2):
-- file writers hold (7007, 1) shared and image writers (7007, 2) shared next to their per-image locks;
-- a big image write takes (7007, 1) exclusive, a big file write (7007, 1) shared and (7007, 2)
-- exclusive, always 1 before 2 before the per-image keys.
CREATE FUNCTION session_counts_lock_images(ids text[], image_writer boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    keys bigint[]; k bigint;
BEGIN
    SELECT array_agg(DISTINCT h ORDER BY h) INTO keys
    FROM (SELECT hashtextextended(u.id, 0) AS h FROM unnest(ids) AS u(id) WHERE u.id IS NOT NULL) x;
    IF keys IS NULL THEN
        RETURN;
    ELSIF cardinality(keys) > 1000 THEN
        IF image_writer THEN
            PERFORM pg_advisory_xact_lock(7007, 1);
        ELSE
            PERFORM pg_advisory_xact_lock_shared(7007, 1);
            PERFORM pg_advisory_xact_lock(7007, 2);
        END IF;
    ELSIF image_writer THEN
        PERFORM pg_advisory_xact_lock_shared(7007, 2);
        FOREACH k IN ARRAY keys LOOP
            PERFORM pg_advisory_xact_lock(k);
        END LOOP;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(7007, 1);
        FOREACH k IN ARRAY keys LOOP
            PERFORM pg_advisory_xact_lock_shared(k);
        END LOOP;
    END IF;
END $$;

-- Add n files (negative: take away) of (session, subdirectory, state) holding image_id, each counted
-- under its image's statuses as committed once this transaction holds the images' locks (above).
-- Counter rows are taken in key order, so two writers never wait on each other in a cycle.
CREATE FUNCTION session_counts_add_files(sessions bigint[], subs text[], states text[], image_ids text[],
                                         ns bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM session_counts_lock_images(image_ids, false);
    -- a new statement, so a new snapshot: sees an image write that committed while we waited
    INSERT INTO session_counts AS sc (session_id, subdirectory, state, embed_status, faces_status, files)
    SELECT c.s, c.sub, c.st, COALESCE(i.embed_status, ''), COALESCE(i.faces_status, ''), sum(c.n)
    FROM unnest(sessions, subs, states, image_ids, ns) AS c(s, sub, st, img, n)
    LEFT JOIN images i ON i.id = c.img
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(c.n) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (session_id, subdirectory, state, embed_status, faces_status)
    DO UPDATE SET files = sc.files + EXCLUDED.files;
END $$;

CREATE FUNCTION session_files_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sessions bigint[]; subs text[]; states text[]; image_ids text[]; ns bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(session_id), array_agg(subdirectory), array_agg(state), array_agg(image_id),
               array_agg(n) INTO sessions, subs, states, image_ids, ns
        FROM (SELECT session_id, subdirectory, state, image_id, count(*) AS n FROM new_files
              GROUP BY 1, 2, 3, 4) c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(session_id), array_agg(subdirectory), array_agg(state), array_agg(image_id),
               array_agg(n) INTO sessions, subs, states, image_ids, ns
        FROM (SELECT session_id, subdirectory, state, image_id, -count(*) AS n FROM old_files
              GROUP BY 1, 2, 3, 4) c;
    ELSE  -- a row that kept its state and image (a lease extended) cancels out here
        SELECT array_agg(session_id), array_agg(subdirectory), array_agg(state), array_agg(image_id),
               array_agg(n) INTO sessions, subs, states, image_ids, ns
        FROM (SELECT session_id, subdirectory, state, image_id, sum(n)::bigint AS n FROM (
                SELECT session_id, subdirectory, state, image_id, 1 AS n FROM new_files
                UNION ALL
                SELECT session_id, subdirectory, state, image_id, -1 FROM old_files) u
              GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) c;
    END IF;
    IF sessions IS NOT NULL THEN
        PERFORM session_counts_add_files(sessions, subs, states, image_ids, ns);
    END IF;
    IF TG_OP = 'DELETE' THEN
        -- Files cascaded from a session this transaction deleted: its counts go, now that we hold the
        -- files' image locks (no image writer adds to them before we commit) and in a new snapshot (we
        -- see the rows of every image writer that committed while we waited).
        DELETE FROM session_counts WHERE session_id IN (
            SELECT DISTINCT f.session_id FROM old_files f
            WHERE NOT EXISTS (SELECT 1 FROM ingest_sessions s WHERE s.id = f.session_id));
    END IF;
    RETURN NULL;
END $$;

-- An image whose statuses changed (or that appeared or went) moves the files holding it between counts:
-- n = +1 under (embed, faces) and -1 under the statuses before ('' for no image).
CREATE FUNCTION session_counts_move_images(ids text[], embeds text[], faces text[], ns integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM session_counts_lock_images(ids, true);
    -- a new statement, so a new snapshot: sees files whose writers committed while we waited
    INSERT INTO session_counts AS sc (session_id, subdirectory, state, embed_status, faces_status, files)
    SELECT sf.session_id, sf.subdirectory, sf.state, c.embed, c.faces, sum(c.n)
    FROM unnest(ids, embeds, faces, ns) AS c(id, embed, faces, n)
    JOIN session_files sf ON sf.image_id = c.id
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(c.n) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (session_id, subdirectory, state, embed_status, faces_status)
    DO UPDATE SET files = sc.files + EXCLUDED.files;
END $$;

CREATE FUNCTION images_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text[]; embeds text[]; faces text[]; ns integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(id), array_agg(embed), array_agg(face), array_agg(n) INTO ids, embeds, faces, ns
        FROM (SELECT id, embed_status AS embed, faces_status AS face, 1 AS n FROM new_images
              UNION ALL SELECT id, '', '', -1 FROM new_images) c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(id), array_agg(embed), array_agg(face), array_agg(n) INTO ids, embeds, faces, ns
        FROM (SELECT id, embed_status AS embed, faces_status AS face, -1 AS n FROM old_images
              UNION ALL SELECT id, '', '', 1 FROM old_images) c;
    ELSE
        SELECT array_agg(c.id), array_agg(c.embed), array_agg(c.face), array_agg(c.n)
        INTO ids, embeds, faces, ns
        FROM (SELECT ni.id, ni.embed_status AS embed, ni.faces_status AS face, oi.embed_status AS old_embed,
                     oi.faces_status AS old_face
              FROM new_images ni JOIN old_images oi ON oi.id = ni.id
              WHERE (ni.embed_status, ni.faces_status) IS DISTINCT FROM (oi.embed_status, oi.faces_status)) ch,
             LATERAL (VALUES (ch.id, ch.embed, ch.face, 1), (ch.id, ch.old_embed, ch.old_face, -1))
                 AS c(id, embed, face, n);
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM session_counts_move_images(ids, embeds, faces, ns);
    END IF;
    RETURN NULL;
END $$;

-- Triggers first: they lock the tables against writers until this migration commits, so the counts
-- below include every file written before and none twice.
CREATE TRIGGER session_files_counted_insert AFTER INSERT ON session_files
    REFERENCING NEW TABLE AS new_files FOR EACH STATEMENT EXECUTE FUNCTION session_files_counted();
CREATE TRIGGER session_files_counted_update AFTER UPDATE ON session_files
    REFERENCING OLD TABLE AS old_files NEW TABLE AS new_files
    FOR EACH STATEMENT EXECUTE FUNCTION session_files_counted();
CREATE TRIGGER session_files_counted_delete AFTER DELETE ON session_files
    REFERENCING OLD TABLE AS old_files FOR EACH STATEMENT EXECUTE FUNCTION session_files_counted();
CREATE TRIGGER images_counted_insert AFTER INSERT ON images
    REFERENCING NEW TABLE AS new_images FOR EACH STATEMENT EXECUTE FUNCTION images_counted();
CREATE TRIGGER images_counted_update AFTER UPDATE ON images
    REFERENCING OLD TABLE AS old_images NEW TABLE AS new_images
    FOR EACH STATEMENT EXECUTE FUNCTION images_counted();
CREATE TRIGGER images_counted_delete AFTER DELETE ON images
    REFERENCING OLD TABLE AS old_images FOR EACH STATEMENT EXECUTE FUNCTION images_counted();

-- A deleted session's counts go with it: the rows its files' delete (cascaded, its trigger runs after
-- this one) does not reach are dropped here, the rest there (above). Not a foreign key: the key check of
-- a counter row that an image writer adds meanwhile would wait on the session delete, which waits on
-- that writer's image lock (a deadlock).
CREATE FUNCTION session_counts_sessions_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM session_counts WHERE session_id IN (SELECT id FROM old_sessions);
    RETURN NULL;
END $$;

-- Count everything again: the first fill below, and after TRUNCATE (which fires no row triggers) of
-- session_files or images; TRUNCATE locks out that table's writers, not the other's (an admin act).
CREATE FUNCTION session_counts_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM session_counts;
    INSERT INTO session_counts (session_id, subdirectory, state, embed_status, faces_status, files)
    SELECT sf.session_id, sf.subdirectory, sf.state, COALESCE(i.embed_status, ''),
           COALESCE(i.faces_status, ''), count(*)
    FROM session_files sf LEFT JOIN images i ON i.id = sf.image_id
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;

CREATE TRIGGER session_counts_sessions_deleted AFTER DELETE ON ingest_sessions
    REFERENCING OLD TABLE AS old_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION session_counts_sessions_deleted();
CREATE TRIGGER session_files_counted_truncate AFTER TRUNCATE ON session_files
    FOR EACH STATEMENT EXECUTE FUNCTION session_counts_recount();
CREATE TRIGGER images_counted_truncate AFTER TRUNCATE ON images
    FOR EACH STATEMENT EXECUTE FUNCTION session_counts_recount();

INSERT INTO session_counts (session_id, subdirectory, state, embed_status, faces_status, files)
SELECT sf.session_id, sf.subdirectory, sf.state, COALESCE(i.embed_status, ''), COALESCE(i.faces_status, ''),
       count(*)
FROM session_files sf LEFT JOIN images i ON i.id = sf.image_id
GROUP BY 1, 2, 3, 4, 5;
