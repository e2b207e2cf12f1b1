"""Search service: text and similar-image search over NATS request-reply (see client.SearchClient)."""
