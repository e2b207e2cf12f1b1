"""The web UI: server-rendered pages (Jinja2) over the same Gateway the REST and gRPC APIs call."""
