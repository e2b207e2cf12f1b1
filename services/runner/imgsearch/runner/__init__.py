"""Everything in one process: the embedded default (``python -m imgsearch.runner``)."""
