"""Vector-store port and its adapters (qdrant-edge embedded, qdrant-client for a Qdrant server)."""
