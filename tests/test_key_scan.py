"""Tests for helpers.key_scan: text as git stores it, line numbers, keys in names, never the key."""

from __future__ import annotations

import codecs
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.key_formats import KEY_FORMATS, fake_key, fingerprint, reportable_keys
from helpers.key_scan import decode_text, findings_in_name, findings_in_text, safe_path

SHAPES = [fmt.name for fmt in KEY_FORMATS if not fmt.context]
# Lines that hold no key: words, punctuation, code-ish text.
plain_lines = st.text(alphabet="abcdefghij klmnop=:;,.(){}[]#\"'", max_size=40)
# `real_looking` is a pure function: sharing it between hypothesis examples is safe.
pure_fixture = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pure_fixture
@given(lines=st.lists(st.one_of(plain_lines, st.sampled_from(SHAPES).map(lambda name: ("key", name))),
                      max_size=60), seed=st.integers(0, 50))
def test_each_key_is_reported_on_its_own_line(lines, seed, real_looking) -> None:
    """Line numbers are counted incrementally: the property is that they are the true ones."""
    text_lines, expected = [], []
    for number, line in enumerate(lines, 1):
        if isinstance(line, tuple):
            key = real_looking(line[1], seed + number)
            text_lines.append(f"value = {key} # end")
            expected.append((number, fingerprint(key)))
        else:
            text_lines.append(line)
    findings = findings_in_text("\n".join(text_lines), "app.py")
    assert [(f.line, f.fingerprint) for f in findings] == expected
    assert all(f.path == "app.py" and f.commit == "" for f in findings)


def test_several_keys_on_one_line_share_its_number(real_looking) -> None:
    text = "header\n" + f"{real_looking('groq', 1)} and {real_looking('huggingface', 2)}\n" + "tail\n"
    assert [f.line for f in findings_in_text(text, "a.txt")] == [2, 2]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_text_in_unicode_encodings_is_read_with_or_without_a_byte_order_mark(codec, real_looking) -> None:
    key = real_looking("anthropic", 3)
    text = f"# Réglages\nANTHROPIC_API_KEY={key}\n"
    assert decode_text(text.encode(codec)) == text
    [finding] = findings_in_text(decode_text(text.encode(codec)) or "", "settings.txt")
    assert (finding.line, finding.fingerprint) == (2, fingerprint(key))


# Text without NUL: UTF-16 text that starts with one is indistinguishable from a UTF-32 byte-order mark.
LATIN_TEXT = st.text(st.characters(max_codepoint=0x2FF, exclude_categories=("Cs",), exclude_characters="\0"),
                     min_size=1)


@given(LATIN_TEXT)
def test_utf16_text_mostly_in_latin_script_decodes_back(text) -> None:
    ascii_share = sum(ch.isascii() for ch in text) / len(text)
    for codec, bom in (("utf-16-le", b""), ("utf-16-be", b""), ("utf-16-le", codecs.BOM_UTF16_LE)):
        data = bom + text.encode(codec)
        if bom or (ascii_share > 0.9 and len(text) > 8 and "\0" not in text):
            assert decode_text(data) == text


def test_utf16_text_with_characters_whose_low_byte_is_zero_is_still_text() -> None:
    text = "Ādam Ȁ ĀĀ: " * 20 + "plain words " * 30
    assert decode_text(text.encode("utf-16-le")) == text and decode_text(text.encode("utf-16-be")) == text


def test_binary_data_is_not_text() -> None:
    png_header = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\0\0\x01\0\x08\x06\0\0\0" + bytes(range(256)) * 4
    assert decode_text(png_header) is None
    assert decode_text(b"plain text\n") == "plain text\n"


def test_a_percent_encoded_token_in_a_url_is_a_key_and_a_template_is_not(real_looking) -> None:
    token = real_looking("groq", 4)
    encoded = f"{token[:10]}%2F{token[10:20]}%2B{token[20:]}"
    decoded = f"{token[:10]}/{token[10:20]}+{token[20:]}"
    text = (f"curl 'https://api.example.com/v1/data?access_token={encoded}&page=2'\n"
            "url = 'https://api.example.com/v1/data?access_token=%s' % token\n"
            "link = 'https://api.example.com/v1/data?token=%(token)s&x=%2F'\n")
    [finding] = findings_in_text(text, "fetch.sh")
    assert (finding.line, finding.format_name, finding.fingerprint) == (1, "url-key", fingerprint(decoded))


def test_a_percent_encoded_fake_is_still_allowed() -> None:
    fake = fake_key("groq", 1)
    assert findings_in_text(f"https://x.example/?access_token={fake[:9]}%2F{fake[9:]}\n", "doc.md") == []


def test_a_key_in_a_file_name_is_reported_by_fingerprint_and_never_shown(real_looking) -> None:
    key = real_looking("openai-project", 6)
    name = f"cache/{key}.json"
    [finding] = findings_in_name(name)
    assert finding.line is None and finding.fingerprint == fingerprint(key)
    assert finding.path == f"cache/[key {fingerprint(key)}].json" == safe_path(name)
    assert str(finding) == (f"cache/[key {fingerprint(key)}].json (in the file name): OpenAI key "
                            f"(openai-project), fingerprint {fingerprint(key)}")
    [in_content] = findings_in_text(f"x = {real_looking('groq', 1)}\n", name)
    assert key not in str(in_content) and in_content.path == finding.path


@pure_fixture
@given(shape=st.sampled_from(SHAPES), seed=st.integers(0, 1000),
       prefix=st.text(alphabet="abc/._-", max_size=12))
def test_safe_path_never_shows_a_key(shape, seed, prefix, real_looking) -> None:
    key = real_looking(shape, seed)
    shown = safe_path(f"{prefix}/{key}/notes.txt")
    assert key not in shown and fingerprint(key) in shown


def test_fakes_in_names_and_undecodable_names_print_as_they_are() -> None:
    fake = fake_key("groq", 2)
    assert safe_path(f"fixtures/{fake}.json") == f"fixtures/{fake}.json"
    assert safe_path("data/caf\udce9.txt") == "data/caf\\xe9.txt"  # a Latin-1 name, as git lists it


BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
NOISE = st.text(alphabet=BASE64, min_size=1, max_size=3000)
GLUE = st.sampled_from(["", " ", "\n", '"', "/", "+", "\\n", "\x1b[31m", "Bearer ", "?access_token=",
                        'api_key": "', "-", "_", "="])


@pure_fixture
@given(parts=st.lists(st.one_of(NOISE, GLUE, st.sampled_from(SHAPES)), min_size=1, max_size=40),
       seed=st.integers(0, 100))
def test_a_long_text_scanned_around_its_anchors_gives_what_a_whole_scan_gives(parts, seed, real_looking):
    """Long texts are scanned in windows around the anchors (`sk-`, `bearer`, `akia`, ...): the
    property is that nothing changes, whatever surrounds the keys (base64, escapes, contexts)."""
    text = "".join(real_looking(part, seed) if part in SHAPES else part for part in parts)
    text = text + "\n" + "QUJD" * 5000  # past the size from which windows are used
    whole = [(text.count("\n", 0, m.start) + 1, m.format.name, m.fingerprint) for m in reportable_keys(text)]
    assert [(f.line, f.format_name, f.fingerprint) for f in findings_in_text(text, "x")] == whole


def test_a_key_in_a_large_base64_plot_is_found_at_its_line(real_looking) -> None:
    noise = "iVBORw0KGgo" + "eyJhbGciOi" * 50 + "AKIA" + "x/y+" * 200_000  # anchors by chance, no key
    key = real_looking("openai-project", 8)
    text = f'{{"image/png": "{noise}"}}\n{{"text": "{key}"}}\n'
    [finding] = findings_in_text(text, "plot.ipynb")
    assert (finding.line, finding.fingerprint) == (2, fingerprint(key))


CONTROLS = st.sampled_from(["\n", "\r", "\t", "\x1b", "\x00", "\x7f", "\x85", "\u2028", "\u2029", "\u202e",
                            "\u2066", "\u200b", "\ufeff"])


@given(parts=st.lists(st.one_of(st.text(alphabet="ab ./_-", max_size=5), CONTROLS), min_size=1, max_size=12))
def test_safe_path_prints_control_and_invisible_characters_as_escapes(parts) -> None:
    """A name with a line break, a terminal escape or a bidi override prints on one line, as it is
    spelled: it can neither break a report's table nor forge a line of it."""
    shown = safe_path("".join(parts))
    assert shown.isprintable()
    assert not any(c in shown for c in "\n\r\x1b\x00\u2028\u202e\u200b")


def test_safe_path_spells_out_each_control_character() -> None:
    assert safe_path("a\nb\x1b[2K\rc\u202e.txt") == "a\\nb\\x1b[2K\\rc\\u202e.txt"
    assert safe_path("caf\udce9 \u00e9t\u00e9.txt") == "caf\\xe9 \u00e9t\u00e9.txt"  # printable stays


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("words", ["日本語のテキストです。", "Настройки приложения", "إعدادات التطبيق"])
def test_utf16_text_in_a_non_latin_script_without_a_byte_order_mark_is_text(codec, words, real_looking):
    """Few zero bytes (only the ASCII characters hold one), all on one side: told from binary by
    decoding as UTF-16 without an error."""
    key = real_looking("groq", 8)
    text = f"{words}\n" * 800 + f"GROQ_API_KEY={key}\n"
    assert decode_text(text.encode(codec)) == text
    [finding] = findings_in_text(text, "notes.txt")
    assert finding.line == 801


def test_utf8_text_with_a_stray_zero_byte_and_random_bytes_are_still_binary() -> None:
    assert decode_text(b"plain ascii text " * 100 + b"\0" + b"more") is None
    random_bytes = b"".join(hashlib.sha256(n.to_bytes(4, "big")).digest() for n in range(700))
    assert decode_text(random_bytes) is None
