"""Faces: detection, recognition and clustering — built in the faces issue; the package exists so the layout is complete."""
