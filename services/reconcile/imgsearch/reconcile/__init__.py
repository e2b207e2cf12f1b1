"""Reconcile: compare PostgreSQL (the truth), the Qdrant collections and the stream; re-publish what is
missing, remove orphans, report the counts. Runs inside the gateway (POST /api/v1/reconcile, gRPC
Admin.Reconcile) or alone against a Qdrant server (``python -m imgsearch.reconcile``)."""
