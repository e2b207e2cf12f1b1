"""``imgsearch``: the command line over the gateway's REST API (ingest with live progress, sessions, search,
status, reconcile)."""
