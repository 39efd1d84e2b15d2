"""A catalogue of API-key shapes: the one source of truth for scanning and redaction.

Each `KeyFormat` describes what one kind of credential looks like (OpenAI, Anthropic, Google,
Hugging Face, AWS, GitHub, JWTs, ``Bearer`` headers, keys in URLs, ...). `find_keys` finds every
key of every format in a text, and `fingerprint` gives a short, non-reversible id for a key, so
that logs and reports can say *which* key without showing it.

Every format can make a fake of its own shape (`KeyFormat.fake`) with ``FAKE`` inside the key,
for tests and notebooks: a scanner sees a key of the real shape, and no person (nor
``find_real_keys.py``) mistakes it for a real credential.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from dataclasses import dataclass, field
from functools import cache

__all__ = [
    "ALLOWED_FAKE", "ALPHABETS", "fake_key", "find_keys", "fingerprint", "format_named", "is_allowed_fake",
    "KEY_FORMATS", "KeyFormat", "KeyMatch", "might_contain_key", "reportable_keys",
]

# A key never starts in the middle of a word: "task-management" must not yield "sk-management".
# It may follow an escape sequence glued to it, though: a written-out \n in repr() or JSON text
# (a notebook file, a JSON log line), or a colour code such as ESC[31m in terminal output.
_ESCAPED = r"(?<=\\[nrtbf])"
_LEFT = (
    r"(?:(?<![A-Za-z0-9_\-])|" + _ESCAPED +
    r"|(?<=\[[0-9;]m)|(?<=\[[0-9;]{2}m)|(?<=\[[0-9;]{3}m)|(?<=\[[0-9;]{4}m)|(?<=\[[0-9;]{5}m))"
)
_WORD_START = rf"(?:\b|{_ESCAPED})"  # where a context word ("Bearer", "api_key") may begin
_RIGHT = r"(?![A-Za-z0-9_\-])"
_JWT = r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*"

ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "urlsafe": string.ascii_letters + string.digits + "_-",
    "lower": string.ascii_lowercase + string.digits,
    "letters": string.ascii_letters,
    "base32": string.ascii_uppercase + "234567",
}
_FAKE_PART = re.compile(r"\{(\d+):(\w+)\}")
ALLOWED_FAKE = re.compile(r"fake|example", re.IGNORECASE)
_TEMPLATED = re.compile(r"[{}$<>%]")


@dataclass(frozen=True)
class KeyFormat:
    """One kind of credential.

    name:     short id used in markers and reports, e.g. ``openai-project``.
    provider: who issues it, e.g. ``OpenAI``.
    pattern:  regular expression for the secret itself.
    anchors:  lower-case strings of which at least one appears in every match (with its
              context); a text that contains none of them is skipped without running a regex.
    fake:     template for `fake`: literal text plus ``{N:alphabet}`` for N random characters.
    context:  optional expression that must come right before the secret (``Bearer ``,
              ``?key=``); it is matched but is not part of the secret.
    """

    name: str
    provider: str
    pattern: str
    anchors: tuple[str, ...]
    fake_template: str = field(repr=False)
    context: str = ""

    def fake(self, seed: int | random.Random = 0) -> str:
        """A deterministic fake of this shape (the same seed gives the same key).

        For a format recognised by its context the fake includes it: ``Bearer FAKE...``.
        """
        rng = seed if isinstance(seed, random.Random) else random.Random(f"{self.name}:{seed}")

        def random_part(m: re.Match[str]) -> str:
            return "".join(rng.choice(ALPHABETS[m.group(2)]) for _ in range(int(m.group(1))))

        return _FAKE_PART.sub(random_part, self.fake_template)

    @property
    def regex(self) -> re.Pattern[str]:
        """The secret's own pattern, compiled (without its context)."""
        return re.compile(self.pattern)


@dataclass(frozen=True)
class KeyMatch:
    """A key found in a text: its format, its span, and the secret (which repr never shows)."""

    format: KeyFormat
    start: int
    end: int
    secret: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)

    def __repr__(self) -> str:
        return f"KeyMatch({self.format.name}, {self.start}:{self.end}, fp={self.fingerprint})"


# Order matters: where two formats match at the same place the first one listed wins, so the
# specific shapes come before the generic ones (``sk-proj-`` before any ``sk-``). The patterns are
# looser than the providers' current shapes (OpenAI's project keys hold "T3BlbkFJ" between two runs
# of 74 or 58 characters) so that older and future variants are caught too; the fakes follow the
# current shapes.
KEY_FORMATS: tuple[KeyFormat, ...] = (
    KeyFormat("openai-project", "OpenAI", r"sk-proj-[A-Za-z0-9_\-]{20,}",
              ("sk-proj-",), "sk-proj-FAKE{70:urlsafe}T3BlbkFJ{74:urlsafe}"),
    KeyFormat("openai-service-account", "OpenAI", r"sk-svcacct-[A-Za-z0-9_\-]{20,}",
              ("sk-svcacct-",), "sk-svcacct-FAKE{70:urlsafe}T3BlbkFJ{74:urlsafe}"),
    KeyFormat("openai-admin", "OpenAI", r"sk-admin-[A-Za-z0-9_\-]{20,}",
              ("sk-admin-",), "sk-admin-FAKE{54:urlsafe}T3BlbkFJ{58:urlsafe}"),
    KeyFormat("anthropic-admin", "Anthropic", r"sk-ant-admin\d\d-[A-Za-z0-9_\-]{20,}",
              ("sk-ant-",), "sk-ant-admin01-FAKE{89:urlsafe}AA"),
    KeyFormat("anthropic", "Anthropic", r"sk-ant-(?:api|sid|oat)\d\d-[A-Za-z0-9_\-]{20,}",
              ("sk-ant-",), "sk-ant-api03-FAKE{89:urlsafe}AA"),
    KeyFormat("openrouter", "OpenRouter", r"sk-or-v\d-[A-Za-z0-9]{32,}",
              ("sk-or-",), "sk-or-v1-fake{60:lower}"),
    KeyFormat("openai-legacy", "OpenAI", r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}" + _RIGHT,
              ("sk-",), "sk-FAKE{16:alnum}T3BlbkFJEXAMPLE{13:alnum}"),
    # DeepSeek and DashScope (Qwen) keys: "sk-" and 32 lower-case letters or digits.
    KeyFormat("sk-32", "DeepSeek/DashScope", r"sk-[a-z0-9]{32}" + _RIGHT,
              ("sk-",), "sk-fake{28:lower}"),
    # Any other "sk-" key (Moonshot, older OpenAI keys, formats yet to come). It must hold a
    # digit, so that hyphenated words such as "sk-learn-compatible-estimators" are left alone.
    KeyFormat("sk-generic", "unknown (sk-)", r"sk-(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}",
              ("sk-",), "sk-FAKE{40:alnum}7"),
    KeyFormat("google", "Google", r"AIza[0-9A-Za-z_\-]{35}" + _RIGHT,
              ("aiza",), "AIzaFAKE{31:urlsafe}"),
    KeyFormat("huggingface", "Hugging Face", r"hf_[A-Za-z0-9]{30,}",
              ("hf_",), "hf_FAKE{30:letters}"),
    KeyFormat("huggingface-org", "Hugging Face", r"api_org_[A-Za-z0-9]{30,}",
              ("api_org_",), "api_org_FAKE{30:letters}"),
    KeyFormat("groq", "Groq", r"gsk_[A-Za-z0-9]{40,}", ("gsk_",), "gsk_FAKE{48:alnum}"),
    KeyFormat("xai", "xAI", r"xai-[A-Za-z0-9_]{40,}", ("xai-",), "xai-FAKE{76:alnum}"),
    KeyFormat("perplexity", "Perplexity", r"pplx-[A-Za-z0-9]{40,}",
              ("pplx-",), "pplx-FAKE{44:alnum}"),
    KeyFormat("aws-access-key-id", "AWS", r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}" + _RIGHT,
              ("akia", "asia", "abia", "acca"), "AKIAFAKE{12:base32}"),
    KeyFormat("github", "GitHub", r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})",
              ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), "ghp_FAKE{32:alnum}"),
    KeyFormat("jwt", "JWT", _JWT,
              ("eyj",), "eyJhbGciOiJIUzI1NiJ9.eyJFAKE{36:urlsafe}.FAKE{43:urlsafe}"),
    # Credentials recognised by where they stand rather than by their shape (RFC 6750's token
    # characters for Bearer tokens).
    KeyFormat("bearer", "Authorization header", r"[A-Za-z0-9._~+/\-]{16,}=*",
              ("bearer",), "Bearer FAKE{36:urlsafe}", context=_WORD_START + r"(?i:bearer)\s+"),
    # (URL-safe characters only: a value starting with "{" or "$" is a template, f"?key={api_key}",
    # and one starting with "[" is a redaction marker, so redacting twice changes nothing.)
    KeyFormat("url-key", "key in a URL", r"[A-Za-z0-9._~%+/=\-]{8,}",
              ("key=", "token="), "https://api.example.com/v1/models?key=FAKE{35:urlsafe}",
              context=r"[?&](?:key|api_key|apikey|api-key|access_token|token)="),
    # api_key = "..." in code or config: a JWT (dots and all), or a value holding a digit and a
    # letter: placeholders such as "your-api-key-here" are not keys.
    KeyFormat("assigned-key", "api_key assignment",
              _JWT + r"|(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{16,}",
              ("api_key", "api-key", "apikey", "secret_key", "secret-key", "secretkey",
               "access_token", "access-token", "accesstoken"),
              "api_key=FAKE{28:alnum}42",
              context=_WORD_START
              + r"""(?i:(?:api[_-]?key|secret[_-]?key|access[_-]?token)["']?\s*[:=]\s*["']?)"""),
)


@cache
def _scanner() -> re.Pattern[str]:
    """All formats as one alternation, each secret in its own named group: one pass per text.

    Formats known by their shape share one left boundary, tested once per position rather than
    once per format (four times faster on a text that holds a key); formats known by their
    context bring their own.
    """
    shapes = [f"(?P<k{i}>{fmt.pattern})" for i, fmt in enumerate(KEY_FORMATS) if not fmt.context]
    contexts = [f"{fmt.context}(?P<k{i}>{fmt.pattern})" for i, fmt in enumerate(KEY_FORMATS) if fmt.context]
    return re.compile("|".join([f"{_LEFT}(?:{'|'.join(shapes)})", *contexts]))


@cache
def _anchors() -> tuple[str, ...]:
    """Every format's anchors, less those that hold another one (``sk-proj-`` holds ``sk-``)."""
    anchors = {anchor for fmt in KEY_FORMATS for anchor in fmt.anchors}
    return tuple(sorted(a for a in anchors if not any(b != a and b in a for b in anchors)))


def might_contain_key(text: str) -> bool:
    """Cheap pre-check: False means `text` surely holds no key of any format.

    Most log lines hold no key, and a dozen substring tests cost far less than the full regular
    expression: this is what keeps redaction close to the cost of plain logging.
    """
    lowered = text.lower()
    for anchor in _anchors():  # noqa: SIM110 - a plain loop is faster than any() on a generator
        if anchor in lowered:
            return True
    return False


def _own_shape(secret: str, found: KeyFormat) -> KeyFormat:
    """A key found by its context (``Bearer sk-proj-...``) is reported under its own shape."""
    if not found.context:
        return found
    for fmt in KEY_FORMATS:
        if not fmt.context and fmt.regex.fullmatch(secret):
            return fmt
    return found


def find_keys(text: str) -> list[KeyMatch]:
    """Every key in `text`, left to right, without overlaps.

    Each match carries its format, its span in `text` and the secret itself. The span covers
    the secret only: for ``Bearer <token>`` it is the token.
    """
    if not might_contain_key(text):
        return []
    matches = []
    for m in _scanner().finditer(text):
        group = m.lastgroup or ""
        fmt = KEY_FORMATS[int(group[1:])]
        secret = m.group(group)
        matches.append(KeyMatch(_own_shape(secret, fmt), m.start(group), m.end(group), secret))
    return matches


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible id for a secret: the first 8 hex digits of its SHA-256.

    Two log lines about the same key share a fingerprint; the fingerprint tells nothing about
    the key. Surrounding whitespace is ignored, so a key pasted with a trailing newline has the
    fingerprint of the clean key.
    """
    return hashlib.sha256(secret.strip().encode("utf-8")).hexdigest()[:8]


def format_named(name: str) -> KeyFormat:
    """The catalogue entry called `name` (e.g. ``"openai-project"``)."""
    for fmt in KEY_FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(fmt.name for fmt in KEY_FORMATS)
    raise KeyError(f"no key format named {name!r}; known formats: {known}")


def fake_key(name: str = "openai-project", seed: int = 0) -> str:
    """A fake key of the named format, for notebooks and tests: ``fake_key("anthropic", 2)``."""
    return format_named(name).fake(seed)


# -- the scan policy: what a scanner (the checklist, the detect-secrets hook) reports ----------

def is_allowed_fake(secret: str) -> bool:
    """A key that says it is a fake (``FAKE`` or ``EXAMPLE`` inside it, any case)."""
    return bool(ALLOWED_FAKE.search(secret))


def reportable_keys(text: str) -> list[KeyMatch]:
    """Keys in `text` worth reporting: not allowed fakes, and for formats found by their context
    (``Bearer``, ``?key=``, ``api_key=``) only random-looking values (a letter, a digit, no
    template syntax), so ``Bearer YOUR_TOKEN`` or ``?key={api_key}`` in docs are left alone."""
    return [match for match in find_keys(text) if not is_allowed_fake(match.secret)
            and (not match.format.context or _looks_random(match.secret))]


def _looks_random(value: str) -> bool:
    """16+ characters with a letter and a digit and no template syntax: not ``YOUR_TOKEN``."""
    return (len(value) >= 16 and not _TEMPLATED.search(value)
            and re.search(r"\d", value) is not None and re.search(r"[A-Za-z]", value) is not None)
