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

-- Add n files (negative: take away) of (session, subdirectory, state) holding image_id, each counted
-- under its image's statuses. The images are read under a share lock: an image updated meanwhile is
-- read once that update committed, and the update's own trigger then sees these files (none is lost).
-- Counter rows are taken in key order, so two writers never wait on each other in a cycle.
CREATE FUNCTION session_counts_add_files(sessions bigint[], subs text[], states text[], image_ids text[],
                                         ns bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM images WHERE id = ANY(image_ids) ORDER BY id FOR SHARE;
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
    RETURN NULL;
END $$;

-- An image whose statuses changed (or that appeared or went) moves the files holding it between counts:
-- n = +1 under (embed, faces) and -1 under the statuses before ('' for no image).
CREATE FUNCTION session_counts_move_images(ids text[], embeds text[], faces text[], ns integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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

INSERT INTO session_counts (session_id, subdirectory, state, embed_status, faces_status, files)
SELECT sf.session_id, sf.subdirectory, sf.state, COALESCE(i.embed_status, ''), COALESCE(i.faces_status, ''),
       count(*)
FROM session_files sf LEFT JOIN images i ON i.id = sf.image_id
GROUP BY 1, 2, 3, 4, 5;
