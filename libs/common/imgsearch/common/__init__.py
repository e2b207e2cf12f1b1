"""Shared building blocks of the imgsearch services: settings, errors, bus, stores, runtime."""
