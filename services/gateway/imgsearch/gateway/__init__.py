"""Gateway: REST + gRPC for search, image metadata and files, ingest requests, health and readiness."""
