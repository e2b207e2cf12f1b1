"""The embed service: images.ingested → CLIP image vectors in the ``images`` collection → images.embedded."""
