"""Redact API keys from text (log records come later in this module).

`redact` replaces every key shape from `helpers.key_formats` and every known secret value with a
marker that keeps the format and a fingerprint, and nothing of the key itself::

    [REDACTED openai-project c95ebdf9]
"""

from __future__ import annotations

from collections.abc import Iterable

from helpers.key_formats import KEY_FORMATS, find_keys, fingerprint

KNOWN_SECRET = "known-secret"


def marker(kind: str, secret: str) -> str:
    """The text that stands in for a redacted secret: its kind and fingerprint."""
    return f"[REDACTED {kind} {fingerprint(secret)}]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every key shape and every value in `secrets` replaced by a marker."""
    pieces, last = [], 0
    for found in find_keys(text):
        pieces += [text[last:found.start], marker(found.format.name, found.secret)]
        last = found.end
    text = "".join(pieces) + text[last:]
    for secret in sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, marker(KNOWN_SECRET, secret))
    return text


__all__ = ["KEY_FORMATS", "marker", "redact"]
