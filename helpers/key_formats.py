"""A catalogue of API-key shapes: the one source of truth for scanning and redaction.

Each `KeyFormat` describes what one kind of credential looks like (OpenAI, Anthropic, Google,
Hugging Face, AWS, GitHub, JWTs, ``Bearer`` headers, keys in URLs, values assigned to names such
as ``MISTRAL_API_KEY`` or ``db_password``, ...). `find_keys` finds every key of every format in a
text, also right after an escape as ``repr()``, ``json.dumps()`` or URL-encoding write them
(``\\xa0``, ``%3D``) or a terminal colour code; `fingerprint` gives a short, non-reversible id
for a key, so that logs and reports can say *which* key without showing it.

Every format can make a fake of its own shape (`KeyFormat.fake`) with ``FAKE`` inside the key,
for tests and notebooks: a scanner sees a key of the real shape, and no person (nor
``find_real_keys.py``) mistakes it for a real credential. `reportable_keys` is the scan policy
built on it: what a scanner reports (no allowed fakes, no placeholders).

Needs: no sibling helper, and only the standard library.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache

__all__ = [
    "ALLOWED_FAKE", "ALPHABETS", "fake_key", "find_keys", "fingerprint", "format_named", "is_allowed_fake",
    "KEY_FORMATS", "KeyFormat", "KeyMatch", "might_contain_key", "reportable_keys",
]

# A key never starts in the middle of a word: "task-management" must not yield "sk-management".
# It may follow an escape glued to it, though, as repr(), ascii(), json.dumps() and URL-encoding
# write them (\n, \xa0, \u200b, \U0001f600, %3D, %22: the "a0" or "3D" are not part of the key),
# or a terminal colour code of any length (ESC[31m, ESC[38;2;255;100;0m, also written out as
# \x1b[...m or \u001b[...m), which is skipped as a whole.
_AFTER_ESCAPE = (
    r"(?<=\\[abefnrtv0])", r"(?<=\\x[0-9A-Fa-f]{2})", r"(?<=\\[0-7]{3})", r"(?<=\\u[0-9A-Fa-f]{4})",
    r"(?<=\\U[0-9A-Fa-f]{8})", r"(?<=%[0-9A-Fa-f]{2})",
)
_COLOUR = r"(?:(?:\x1b|\\x1b|\\u001[bB]|\\U0000001[bB]|\\033|\\e)\[[0-9;?]*[A-Za-z]|\[[0-9;]*m)"
_LEFT = "(?:" + "|".join([r"(?<![A-Za-z0-9_\-])", *_AFTER_ESCAPE]) + ")"  # or a _COLOUR before
# Where "Bearer" may begin; the look-ahead only makes a failing position fail fast.
_WORD_START = r"(?=[Bb\x1b\\\[])(?:" + "|".join([r"\b", *_AFTER_ESCAPE, _COLOUR]) + ")"
_RIGHT = r"(?![A-Za-z0-9_\-])"
_JWT = r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*"

# -- a value assigned to a name that ends in a secret word: OPENAI_API_KEY=..., "openaiApiKey": ...
# Tokens that only number or order things: page tokens, and AWS's idempotency tokens
# (ClientToken, ClientRequestToken, ChangeToken, LifecycleActionToken, a paginator's output_token).
_NOT_SECRET_TOKENS = "".join(f"(?<!{word}{sep}token)" for word in (
    "request", "client", "change", "action", "next", "page", "pagination", "continuation", "idempotency",
    "cancellation", "resume", "sync", "cursor", "input", "output") for sep in ("", "_"))
_SECRET_NAME_END = (
    r"(?i:api[_-]?key|secret(?:[_-]?(?:access[_-]?)?key)?|token" + _NOT_SECRET_TOKENS
    + r"|passw(?:or)?d|[_-]pat)"
    r"(?i:[_-](?:\d{1,3}|old|new|prod|dev|test|staging|live|primary|secondary|backup))?"
)
_QUOTE = r"""(?:\\{0,3}["']|%2[27])"""  # also escaped (\" in JSON, \\" in its repr) and URL-encoded
_SPACE = r"(?:[ \t]|%20)*"
# = or => or :=; a colon only before a space or a quote (YAML, JSON, headers; not secret:x in an
# ARN); or a Python annotation, x: str = ...
_ASSIGN = (r"""(?:=>|:=|=|%3[AaDd]|:(?=[ \t"'\\]|%2[027])"""
           r"|:[ \t]*[A-Za-z_][\w.\[\], |]{0,40}?[ \t]*=(?!=))")
_ASSIGNED_CONTEXT = (r"(?=[AaSsTtPp_\-][PpEeOoAa])"  # only makes a failing position fail fast
                     + _SECRET_NAME_END + _QUOTE + r"?\]?" + _SPACE + _ASSIGN + _SPACE + _QUOTE + "?")
# What follows "key", "token", "passw"... in a lower-cased text where _ASSIGNED_CONTEXT may match.
_AFTER_SECRET_WORD = r"(?:or)?+d?+(?:[_-]\w{1,9}+)?+" + _QUOTE + r"?\]?" + _SPACE + "(?:[:=]|%3[ad])"
# Not a secret: a reference or template (${VAR}, $VAR, {{ x }}, <your key>, %(key)s), or a
# placeholder (your-...-here, xxxx, changeme, replace-me, placeholder, insert-/enter-..., dummy, a
# value cut short with ... or …).
_PLACEHOLDER_START = (r"(?i:your[\W_]|\$|%\(|change[_-]?me|replace[_-]?(?:me|with)|placeholder|insert[_-]"
                      r"|enter[_-]|dummy)")
_PLACEHOLDER_INSIDE = r"[xX]{4}|[_-](?i:here)\b|\.{3}|\u2026"  # ... or …: cut short in docs
_TEMPLATE_INSIDE = r"[<>{}]|\$\{"  # only where a value may hold these characters: in quotes


def _value(chars: str, end: str, inside: str = _PLACEHOLDER_INSIDE) -> str:  # pragma: no mutate block
    """16 or more of `chars`, with a digit and a letter among them, and not a placeholder.

    (Runs once, at import, before mutmut can switch a mutant on: the tests pin what it builds.)
    """
    not_placeholder = f"(?!{_PLACEHOLDER_START}|(?:{chars})*?(?:{inside}))"
    return rf"{not_placeholder}(?=(?:{chars})*?\d)(?=(?:{chars})*?[A-Za-z])(?:{chars}){{16,}}{end}"


_QUOTED = _PLACEHOLDER_INSIDE + "|" + _TEMPLATE_INSIDE
_UNQUOTED = r"[A-Za-z0-9_\-./+=~@#^*?%]"  # no ":", which ends a value in prose and in YAML
# Unquoted, an attribute path is code, not a value: token = self._next_token2, x = windll.advapi32.F
_ATTRIBUTE_PATH = rf"(?![A-Za-z_]\w{{0,40}}(?:\.[A-Za-z_]\w{{0,40}})+(?!{_UNQUOTED}))"
# Nor is another assignment, token=page=2&size=100 (base64 padding, abc==, ends a value: not this).
_NOT_CHAINED = r"(?![A-Za-z_][\w.\-]{0,40}=[A-Za-z0-9_\-])"
_ASSIGNED_VALUE = "|".join([
    r'(?<=")' + _value(r'[^\s"\\]', r'(?=\\{0,3}")', _QUOTED),  # quoted: up to the closing quote
    r"(?<=')" + _value(r"[^\s'\\]", r"(?=\\{0,3}')", _QUOTED),
    r"(?<=%2[27])" + _value(r"[^\s%\"'\\&]", r"(?=%2[27])", _QUOTED),
    # unquoted: up to a space , ; : ( ) ..., and not ending in a full stop (``KEY=... is wrong.``)
    r"(?<![\"'])" + _ATTRIBUTE_PATH + _NOT_CHAINED + _value(_UNQUOTED, r"(?<!\.)"),
])

ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "urlsafe": string.ascii_letters + string.digits + "_-",
    "lower": string.ascii_lowercase + string.digits,
    "letters": string.ascii_letters,
    "base32": string.ascii_uppercase + "234567",
    "hex": string.digits + "abcdef",
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
              A format known by its shape starts with one of them (in any case).
    fake:     template for `fake`: literal text plus ``{N:alphabet}`` for N random characters.
    context:  optional expression that must come right before the secret (``Bearer ``,
              ``?key=``); it is matched but is not part of the secret.
    after_anchor: what must follow an anchor in the lower-cased text for the text to be worth a
              scan (``token`` followed by ``=`` or ``:``, not ``tokens``); empty: nothing.
    """

    name: str
    provider: str
    pattern: str
    anchors: tuple[str, ...]
    fake_template: str = field(repr=False)
    context: str = ""
    after_anchor: str = ""

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
    KeyFormat("anthropic-refresh", "Anthropic", r"sk-ant-ort\d\d-[A-Za-z0-9_\-]{20,}",
              ("sk-ant-",), "sk-ant-ort01-FAKE{89:urlsafe}AA"),  # OAuth refresh tokens
    KeyFormat("openrouter", "OpenRouter", r"sk-or-v\d-[A-Za-z0-9]{32,}",
              ("sk-or-",), "sk-or-v1-fake{60:lower}"),
    KeyFormat("openai-legacy", "OpenAI", r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}" + _RIGHT,
              ("sk-",), "sk-FAKE{16:alnum}T3BlbkFJEXAMPLE{13:alnum}"),
    # DeepSeek keys are "sk-" and 32 hexadecimal digits; DashScope (Qwen) keys "sk-" and 32
    # lower-case letters or digits, so the pattern takes both. The fakes are hex but for the "k" of
    # their marker.
    KeyFormat("sk-32", "DeepSeek/DashScope", r"sk-[a-z0-9]{32}" + _RIGHT,
              ("sk-",), "sk-fake{28:hex}"),
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
    # (URL-encoded too: "Bearer%20" before, "%2B", "%2F" and "%3D" inside.)
    KeyFormat("bearer", "Authorization header", r"(?:[A-Za-z0-9._~+/\-]|%2[BbFf]){16,}(?:=|%3[Dd])*",
              ("bearer",), "Bearer FAKE{36:urlsafe}",
              context=_WORD_START + r"(?i:bearer)(?:\s|%20|\\[nt]|\\xa0|\\u00[aA]0)+"),
    # (URL-safe characters only: a value starting with "{" or "$" is a template, f"?key={api_key}",
    # and one starting with "[" is a redaction marker, so redacting twice changes nothing.)
    # (A percent-escape belongs to the value, but not an encoded & , " or space: in an encoded
    # URL, %26 starts the next parameter.)
    KeyFormat("url-key", "key in a URL", r"(?:[A-Za-z0-9._~+/=\-]|%(?!2[026Cc])){8,}",
              ("key", "token"), "https://api.example.com/v1/models?key=FAKE{35:urlsafe}",
              context=r"(?:[?&]|%3[Ff]|%26)(?:key|api_key|apikey|api-key|access_token|token)(?:=|%3[Dd])",
              after_anchor="=|%3d"),
    # A value assigned to a name ending in a secret word (*_API_KEY, *ApiKey, *_TOKEN, *_SECRET,
    # *_SECRET_ACCESS_KEY, *_PASSWORD, *_PAT, also with a suffix such as _1 or _PROD) in shell,
    # .env, Python, YAML, JSON or TOML, quoted or not: keys of providers without a known shape
    # (Azure OpenAI, Mistral, Cohere, AWS secret access keys). Placeholders, references such as
    # ${VAR} and values without a digit and a letter (os.environ[...], "your-api-key-here") are not keys.
    KeyFormat("assigned-key", "secret assignment", _ASSIGNED_VALUE,
              ("key", "token", "secret", "passw", "_pat", "-pat"),
              "MISTRAL_API_KEY=FAKE{28:alnum}42", context=_ASSIGNED_CONTEXT,
              after_anchor=_AFTER_SECRET_WORD),
)


@lru_cache(maxsize=256)
def _scanner(formats: tuple[int, ...] | None = None) -> re.Pattern[str]:
    """`_build_scanner` for the formats numbered `formats` (all by default), compiled once."""
    return _build_scanner(range(len(KEY_FORMATS)) if formats is None else formats)


def _build_scanner(formats: Iterable[int]) -> re.Pattern[str]:
    """The formats numbered `formats` as one alternation, each secret in its own named group:
    one pass per text.

    Formats known by their shape share one left boundary, tested once per position rather than
    once per format (four times faster on a text that holds a key), and only where a shape can
    start: each starts with one of its anchors, in any case. Formats known by their context bring
    their own.
    """
    chosen = [(i, KEY_FORMATS[i]) for i in formats]
    shapes = [(i, fmt) for i, fmt in chosen if not fmt.context]
    starts = sorted({c for _, fmt in shapes for a in fmt.anchors for c in (a[0], a[0].upper())})
    first = re.escape("".join(starts))  # pragma: no mutate - more letters here would only cost time
    left = f"(?:(?=[{first}]){_LEFT}|{_COLOUR})"
    either = "|".join(f"(?P<k{i}>{fmt.pattern})" for i, fmt in shapes)
    contexts = [f"{fmt.context}(?P<k{i}>{fmt.pattern})" for i, fmt in chosen if fmt.context]
    return re.compile("|".join([f"{left}(?:{either})"] * bool(shapes) + contexts))


_Followed = tuple[str, re.Pattern[str], frozenset[int]]


_Prefilter = tuple[tuple[tuple[str, frozenset[int]], ...], tuple[_Followed, ...]]


@cache
def _prefilter() -> _Prefilter:
    """`_build_prefilter`, once."""
    return _build_prefilter()


def _build_prefilter() -> _Prefilter:
    """The anchors `might_contain_key` looks for, each with the formats it stands for.

    Shapes: an anchor alone suffices; one that holds another (``sk-proj-`` holds ``sk-``) is left
    out, and the shorter one stands for both. Contexts: an anchor counts only where their
    `after_anchor` follows it ("tokens" in a log line is no ``TOKEN=``).
    """
    alone = {anchor for fmt in KEY_FORMATS if not fmt.after_anchor for anchor in fmt.anchors}
    plain = tuple(
        (anchor, frozenset(i for i, fmt in enumerate(KEY_FORMATS) if not fmt.after_anchor
                           and any(anchor in other for other in fmt.anchors)))
        for anchor in sorted(alone) if not any(other != anchor and other in anchor for other in alone))
    after: dict[str, dict[int, str]] = {}
    for i, fmt in enumerate(KEY_FORMATS):
        for anchor in fmt.anchors if fmt.after_anchor else ():
            after.setdefault(anchor, {})[i] = fmt.after_anchor
    followed = tuple((anchor, re.compile("|".join(dict.fromkeys(after[anchor].values()))),
                      frozenset(after[anchor])) for anchor in sorted(after))
    return plain, followed


def _candidates(text: str) -> tuple[int, ...]:
    """The numbers of the formats that may match in `text`: those whose anchors it holds.
    Scanning for those alone is several times faster than scanning for all."""
    lowered = text.lower()
    plain, followed = _prefilter()
    found: set[int] = set()
    for anchor, formats in plain:
        if anchor in lowered:
            found |= formats
    for anchor, after, formats in followed:
        if anchor in lowered and not formats <= found and _is_followed(lowered, anchor, after):
            found |= formats
    return tuple(sorted(found))


def _is_followed(lowered: str, anchor: str, after: re.Pattern[str]) -> bool:
    at = lowered.find(anchor)
    while at >= 0:
        if after.match(lowered, at + len(anchor)):
            return True
        at = lowered.find(anchor, at + 1)
    return False


def might_contain_key(text: str) -> bool:
    """Cheap pre-check: False means `text` surely holds no key of any format.

    Most log lines hold no key, and a few substring tests cost far less than the full regular
    expression: this is what keeps redaction close to the cost of plain logging.
    """
    lowered = text.lower()
    plain, followed = _anchors()
    for anchor in plain:  # noqa: SIM110 - a plain loop is faster than any() on a generator
        if anchor in lowered:
            return True
    for anchor, after in followed:  # noqa: SIM110 - as above
        if anchor in lowered and _is_followed(lowered, anchor, after):
            return True
    return False


@cache
def _anchors() -> tuple[tuple[str, ...], tuple[tuple[str, re.Pattern[str]], ...]]:
    """`_prefilter` without the formats, for the quick check."""
    plain, followed = _prefilter()
    return tuple(anchor for anchor, _ in plain), tuple((anchor, after) for anchor, after, _ in followed)


def _own_shape(secret: str, found: KeyFormat) -> KeyFormat:
    """A key found by its context (``Bearer sk-proj-...``) is reported under its own shape."""
    if not found.context:
        return found
    shape = _shapes().fullmatch(secret)
    return KEY_FORMATS[int(shape.lastgroup[1:])] if shape and shape.lastgroup else found


@cache
def _shapes() -> re.Pattern[str]:
    """`_build_shapes`, once."""
    return _build_shapes()


def _build_shapes() -> re.Pattern[str]:
    """The formats known by their shape, each in its own named group: a fullmatch tries them in
    the catalogue's order and stops at the first that takes the whole value."""
    shapes = [f"(?P<k{i}>{fmt.pattern})" for i, fmt in enumerate(KEY_FORMATS) if not fmt.context]
    return re.compile("|".join(shapes))


def find_keys(text: str) -> list[KeyMatch]:
    """Every key in `text`, left to right, without overlaps.

    Each match carries its format, its span in `text` and the secret itself. The span covers
    the secret only: for ``Bearer <token>`` it is the token.
    """
    candidates = _candidates(text)
    if not candidates:  # most texts: no anchor, no scan
        return []
    matches = []
    for m in _scanner(candidates).finditer(text):
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
    encoded = secret.strip().encode("utf-8")  # pragma: no mutate - "UTF-8" names the same codec
    return hashlib.sha256(encoded).hexdigest()[:8]


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
    """Keys in `text` worth reporting: not allowed fakes, not placeholders written in a key's shape
    (``AKIA`` and sixteen ``X``: one character makes up half of it), and for formats found by their
    context (``Bearer``, ``?key=``, ``api_key=``) only random-looking values (a letter, a digit, no
    template syntax), so ``Bearer YOUR_TOKEN`` or ``?key={api_key}`` in docs are left alone."""
    return [match for match in find_keys(text) if not is_allowed_fake(match.secret)
            and not _filled_with_one_character(match.secret)
            and (not match.format.context or _looks_random(match.secret))]


def _filled_with_one_character(value: str) -> bool:
    """Half the value or more is one character: a placeholder, never a random key."""
    return max(Counter(value).values()) * 2 >= len(value)


def _looks_random(value: str) -> bool:
    """16+ characters with a letter and a digit, no template syntax, and no character making up a
    third of it: not ``YOUR_TOKEN``, nor ``version-1-000000000000000000000001``."""
    return (len(value) >= 16 and not _TEMPLATED.search(value)
            and re.search(r"\d", value) is not None and re.search(r"[A-Za-z]", value) is not None
            and max(Counter(value).values()) * 3 <= len(value))
