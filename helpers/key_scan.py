"""Find keys in the content and the name of a file, and say where without showing them.

The scanners' shared core (`helpers.checklist`, `helpers.git_scan`): `decode_text` reads bytes
as git stores text (UTF-8, or UTF-16/32), `findings_in_text` lists each reportable key with its
line, `findings_in_name` the keys in a file *name* (``cache/<key>.json``), and `safe_path` makes
a path fit to print. A `Finding` holds the key's fingerprint, never the key.

Line numbers are counted as the scan moves forward, so a file with many findings costs one pass
(80,000 findings in 1.7 MB: see ``python -m benchmarks.scan``).

Needs: ``key_formats.py`` (the catalogue and its scan policy). No PyPI library.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from itertools import islice
from typing import NamedTuple
from urllib.parse import unquote

from .key_formats import KEY_FORMATS, KeyMatch, fingerprint, format_named, reportable_keys

__all__ = ["decode_text", "Finding", "findings_in_name", "findings_in_text", "safe_path"]

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_SAMPLE = 8192
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_WHOLE_TEXT = 16_384  # shorter texts are scanned whole
# A window ends at the first character after 1 KB that no key of a fixed shape or JWT holds (a
# Bearer or URL token longer than 1 KB would be cut there).
_WINDOW_CUT = re.compile(r"[^A-Za-z0-9_.\-]")
_KEY_OR_ESCAPE = re.compile(r"[A-Za-z0-9_\-\\\[;]")


class Finding(NamedTuple):
    """A key found by a scan, told without the key: where it is, its shape and its fingerprint.

    (A named tuple rather than a frozen dataclass: a file can hold many thousands of findings, and
    a tuple is made several times faster.)
    """

    path: str  # fit to print: keys in the name replaced by their fingerprint
    line: int | None  # None when the key is in the file name
    provider: str
    format_name: str
    fingerprint: str
    commit: str = ""  # history scans: the first commit that added it

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else f"{self.path} (in the file name)"
        text = f"{where}: {self.provider} key ({self.format_name}), fingerprint {self.fingerprint}"
        return f"{text}, first added in commit {self.commit[:12]}" if self.commit else text


def decode_text(data: bytes) -> str | None:
    """The text in `data`, or None when it is binary.

    A byte-order mark decides UTF-8/16/32; without one, text with no zero byte is UTF-8
    (undecodable bytes replaced), and text with its zero bytes in every other position is UTF-16
    (as Windows tools write it), in any script. Anything else holding a zero byte is binary.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    sample = data[:_SAMPLE]
    if b"\0" not in sample:
        return data.decode("utf-8", errors="replace")
    # In UTF-16 text the high byte of every Latin character is zero; a low byte is zero only for the
    # rare U+0100, U+0200, ... Binary data holds zeros at both parities.
    zeros_even, zeros_odd = sample[0::2].count(0), sample[1::2].count(0)
    for codec, zeros, others in (("utf-16-le", zeros_odd, zeros_even), ("utf-16-be", zeros_even, zeros_odd)):
        if others * 4 <= zeros and (zeros > len(sample) // 8 or _other_script_utf16(sample, codec, zeros)):
            return data.decode(codec, errors="replace")
    return None


def _other_script_utf16(sample: bytes, codec: str, zeros: int) -> bool:
    """UTF-16 text in another script (Cyrillic, Arabic, CJK...) has fewer zero bytes, one per ASCII
    character (spaces, line ends, digits), and decodes without an error; binary data does not."""
    if zeros * 256 < len(sample):  # a stray zero byte in UTF-8 text
        return False
    try:
        codecs.getincrementaldecoder(codec)().decode(sample)  # a pair cut at the end is no error
    except UnicodeDecodeError:
        return False
    return True


def findings_in_text(text: str, path: str, commit: str = "") -> list[Finding]:
    """Every reportable key in `text` (the content of `path`), with its line: one forward pass."""
    shown = safe_path(path)
    findings, line, counted_to = [], 1, 0
    for match, key in _reportable(text):
        line += text.count("\n", counted_to, match.start)
        counted_to = match.start
        findings.append(Finding(shown, line, match.format.provider, match.format.name, fingerprint(key),
                                commit))
    return findings


def findings_in_name(path: str, commit: str = "") -> list[Finding]:
    """Keys in the file name `path` itself (``cache/<key>.json``)."""
    return [Finding(safe_path(path), None, match.format.provider, match.format.name, fingerprint(key), commit)
            for match, key in _reportable(path)]


def safe_path(path: str) -> str:
    """`path` fit to print: each reportable key in it replaced by ``[key <fingerprint>]``, on one
    line and spelled out: undecodable bytes, control characters (a line break, a terminal escape)
    and invisible ones (a bidi override) written as escapes (``\\n``, ``\\x1b``), so a file name
    can neither break a report's table nor forge a line of it."""
    for match, key in reversed(_reportable(path)):
        path = f"{path[:match.start]}[key {fingerprint(key)}]{path[match.end:]}"
    path = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if path.isprintable():
        return path
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in path)


def _reportable(text: str) -> list[tuple[KeyMatch, str]]:
    """(match, key) for each reportable key, left to right.

    A long text is scanned only around its anchors (``sk-``, ``bearer``, ``akia``...: the words
    every key or its context holds), a window from the last separator 64 characters before an
    anchor to the first one 1 KB after it. The full expression costs about 0.4 µs a character,
    and a notebook's base64 plots hold an anchor such as ``eyj`` every few dozen KB by chance.
    """
    windows = _windows(text) if len(text) > _WHOLE_TEXT else None
    if windows is None:
        return _reportable_in(text, 0)
    return [pair for start, end in windows for pair in _reportable_in(text[start:end], start)]


def _reportable_in(text: str, offset: int) -> list[tuple[KeyMatch, str]]:
    """A percent-encoded token in a URL (``?access_token=ab%2Fcd...``) counts once decoded: the
    scan policy takes ``%`` for template syntax (``?key=%s``), but ``%2F`` is an escaped character."""
    found = [(match, match.secret) for match in reportable_keys(text)]
    if "%" in text:
        starts = {match.start for match, _key in found}
        found += [pair for pair in _percent_encoded_keys(text) if pair[0].start not in starts]
        found.sort(key=lambda pair: pair[0].start)
    if offset:
        found = [(replace(match, start=match.start + offset, end=match.end + offset), key)
                 for match, key in found]
    return found


def _windows(text: str) -> list[tuple[int, int]] | None:
    """Merged (start, end) windows around every anchor; None when scanning the whole text is as
    cheap (an anchor every few hundred characters) or lower-casing moved positions."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return None
    budget = len(text) // 512
    hits: list[int] = []
    for anchor in _anchors():
        hits += islice(_positions(lowered, anchor), budget + 1 - len(hits))
        if len(hits) > budget:
            return None
    hits.sort()
    windows: list[tuple[int, int]] = []
    for at in hits:
        if windows and at - 64 <= windows[-1][1]:  # reaches into the last window: stretch it
            if at + 1024 > windows[-1][1]:
                windows[-1] = (windows[-1][0], _window_end(text, at))
            continue
        start = _separator_before(text, max(0, at - 64))
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], _window_end(text, at))
        else:
            windows.append((start, _window_end(text, at)))
    return windows


def _window_end(text: str, anchor_at: int) -> int:
    cut = _WINDOW_CUT.search(text, anchor_at + 1024)
    return cut.start() if cut else len(text)


def _separator_before(text: str, at: int) -> int:
    """Move back to just after a character no key, escape or colour code holds (a space, a quote,
    ``/``): lookbehinds at the window's start then see what they would see in the whole text."""
    limit = max(0, at - 4096)
    while at > limit and _KEY_OR_ESCAPE.match(text, at - 1):
        at -= 1
    return at if at == 0 or not _KEY_OR_ESCAPE.match(text, at - 1) else 0


def _positions(lowered: str, anchor: str) -> Iterator[int]:
    at = lowered.find(anchor)
    while at != -1:
        yield at
        at = lowered.find(anchor, at + 1)


@cache
def _anchors() -> tuple[str, ...]:
    anchors = {anchor for fmt in KEY_FORMATS for anchor in fmt.anchors}
    return tuple(sorted(a for a in anchors if not any(b != a and b in a for b in anchors)))


@cache
def _url_value() -> re.Pattern[str]:
    url_key = format_named("url-key")
    return re.compile(f"{url_key.context}(?P<value>{url_key.pattern})")


def _percent_encoded_keys(text: str) -> Iterator[tuple[KeyMatch, str]]:
    url_key = format_named("url-key")
    for m in _url_value().finditer(text):
        value = m.group("value")
        if not _PERCENT_ESCAPE.search(value):
            continue
        decoded = unquote(value)
        if [match.secret for match in reportable_keys(f"?token={decoded}")] == [decoded]:
            yield KeyMatch(url_key, m.start("value"), m.end("value"), value), decoded
