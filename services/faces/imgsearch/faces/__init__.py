"""Faces: detection, recognition and clustering — built in the faces issue.

The package exists now so that the service layout is complete."""
