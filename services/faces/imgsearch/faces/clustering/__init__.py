"""Face clustering: HDBSCAN engine (``engine``), stable person ids (``stable_ids``), placement of new faces
into existing clusters (``placement``). Nothing heavy is imported here."""
