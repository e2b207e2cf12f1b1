"""One name per camera, the same in the vector payload, the camera filter and GET /api/v1/cameras."""

from __future__ import annotations


def camera_name(make: str | None, model: str | None) -> str | None:
    """"Make Model" with whitespace collapsed; the make is left out when the model already starts
    with it or with its first word ("Canon" + "Canon EOS 6D" → "Canon EOS 6D", "NIKON CORPORATION" +
    "NIKON D750" → "NIKON D750"). None when neither is known."""
    make_text = " ".join((make or "").split())
    model_text = " ".join((model or "").split())
    if not model_text:
        return make_text or None
    if not make_text:
        return model_text
    lowered = model_text.casefold()
    brand = make_text.split(" ", 1)[0].casefold()
    if _starts_with_word(lowered, make_text.casefold()) or _starts_with_word(lowered, brand):
        return model_text
    return f"{make_text} {model_text}"


def _starts_with_word(text: str, prefix: str) -> bool:
    return text == prefix or text.startswith(prefix + " ") or text.startswith(prefix + "-")
