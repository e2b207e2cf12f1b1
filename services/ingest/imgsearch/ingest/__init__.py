"""Ingest service: scan library folders, validate images, write metadata and thumbnails, publish
``images.ingested``. Entry point: ``python -m imgsearch.ingest``."""
