"""Face clustering: HDBSCAN engine (``engine``), purity refinement (``refine``), stable cluster ids
(``stable_ids``), placement of new faces into existing clusters (``attach``), the run (``service``) and
the service around it (``bootstrap``, ``python -m imgsearch.faces.clustering``).
Nothing heavy is imported here."""
