"""A detect-secrets plugin for LLM API keys, built on `helpers.key_formats`, and the hook that uses it.

detect-secrets 1.5.0 has an OpenAI rule (``sk-...T3BlbkFJ...``) that matches only about a third of
real project/service-account/admin keys (it wants 20 letters or digits on each side of
``T3BlbkFJ``; those keys also hold ``-`` and ``_``), rules for GitHub and AWS, and none for
Anthropic, OpenRouter, DeepSeek/DashScope (``sk-`` + 32 characters), Google, Hugging Face, Groq,
xAI or Perplexity. Its generic entropy rule catches those only inside quotes or on ``NAME=value``
lines (never in a log line), and even there it misses keys drawn from small alphabets: in quotes
it caught none of 100 DeepSeek keys (``sk-`` + 32 hex digits: at most 19 distinct characters, so
at most 4.25 bits per character, under its 4.5-bit limit), 23 of 100 of the wider shape the
catalogue also takes for DashScope (``sk-`` + 32 lower-case letters and digits), 84 of 100
Hugging Face and 93 of 100 Google keys, but all OpenAI project, Anthropic and Groq keys. Its
keyword rule goes the other way: it flags every ``OPENAI_API_KEY_1=...`` line of a ``.env`` file
whatever the value, ``your-openai-api-key-here`` and ``changeme`` included (only ``${VAR}`` and
``<...>`` are spared), which is why `HOOK_ARGUMENTS` turns it off; the catalogue's
``assigned-key`` rule takes such values only when they look like a secret.

On top of that a heuristic filter drops every line shaped like ``x = f(...)``, so ``client =
OpenAI(api_key="sk-...")`` passes even for the shapes it knows. Other default filters skip whole
files by name: lock files (``package-lock.json``, ``poetry.lock``, ...), any path holding
``swagger``, and a list of extensions (``.svg``, ``.map``, ``.lock``, ...): a key in them is never
looked at. `LLMKeyDetector` adds every shape of the catalogue, and `HOOK_ARGUMENTS` turns those
filters off (tests/test_detect_secrets_plugin.py measures all of it); binary files are still
skipped, since detect-secrets cannot decode them.

Keys that carry ``FAKE`` or ``EXAMPLE`` are allowed (`helpers.key_formats.is_allowed_fake`): the
tutorial's notebooks and tests hold such fakes on purpose, and the repository must pass its own
scan. A real key holding those letters by chance would be missed; for a 150-character random
key the odds are about 1 in 7,000 for ``FAKE`` (far less for ``EXAMPLE``), the price of keeping
fakes in a tutorial.

Use it with detect-secrets directly (``detect-secrets scan --plugin helpers/detect_secrets_plugin.py``)
or run the pre-commit hook as configured in ``.pre-commit-config.yaml``::

    python -m helpers.detect_secrets_plugin FILE...

which is ``detect-secrets-hook`` with this plugin and `HOOK_ARGUMENTS`. It reads the files in the
working tree; pre-commit stashes unstaged changes first, so they hold what the commit records.
``python -m helpers.checklist --staged`` reads the index itself.

Needs: ``key_formats.py`` (the catalogue and its scan policy); detect-secrets.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Sequence
from pathlib import Path

from detect_secrets.plugins.base import RegexBasedDetector

if __package__:
    from .key_formats import KEY_FORMATS, reportable_keys
else:  # detect-secrets loads a --plugin file by its path, as a module outside any package
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from key_formats import KEY_FORMATS, reportable_keys  # type: ignore[import-not-found,no-redef]

__all__ = ["HOOK_ARGUMENTS", "LLMKeyDetector", "main"]

HOOK_ARGUMENTS: tuple[str, ...] = (
    # Never send a found secret over the network to "verify" it.
    "--no-verify",
    # This heuristic drops every line shaped like `x = f(...)`, and with it the classic leak
    # `client = OpenAI(api_key="sk-...")`, for all plugins (checked in detect-secrets 1.5.0).
    "--disable-filter", "detect_secrets.filters.heuristic.is_indirect_reference",
    # These skip whole files by name (detect_secrets/filters/heuristic.py in 1.5.0): lock files,
    # any path holding "swagger", and extensions such as .svg, .map or .lock. A key must be blocked
    # whatever the file is called; binary files are still skipped (they do not decode as text).
    "--disable-filter", "detect_secrets.filters.heuristic.is_lock_file",
    "--disable-filter", "detect_secrets.filters.heuristic.is_swagger_file",
    "--disable-filter", "detect_secrets.filters.heuristic.is_non_text_file",
    # The tutorial's fakes, for the built-in plugins too (ours skips them itself).
    "--exclude-secrets", "(?i)fake|example",
    # Its pattern captures only the prefix ("ghp"), so the filter above never sees a fake's FAKE
    # and blocks every `ghp_FAKE...`; ours finds the same shapes (the catalogue's "github").
    "--disable-plugin", "GitHubTokenDetector",
    # The generic rules flag what is not a key: every assignment to a name holding "secret" or
    # "key" (most lines of code about secrets), base64 images and escaped strings in notebooks.
    # This repository relies on the specific rules, ours included; a project that wants the
    # generic ones should keep a baseline (`detect-secrets scan > .secrets.baseline`).
    "--disable-plugin", "KeywordDetector",
    "--disable-plugin", "Base64HighEntropyString",
    "--disable-plugin", "HexHighEntropyString",
)


class LLMKeyDetector(RegexBasedDetector):
    """Every key shape of `helpers.key_formats.KEY_FORMATS`, allowed fakes excepted.

    `denylist` is the catalogue's patterns (detect-secrets requires it); `analyze_string` runs
    them all in one pass through `reportable_keys`, which also leaves out placeholders such as
    ``Bearer YOUR_TOKEN``.
    """

    secret_type = "LLM or cloud API key (helpers.key_formats)"  # noqa: S105 - a label, not a secret
    denylist = tuple(fmt.regex for fmt in KEY_FORMATS)

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        for match in reportable_keys(string):
            yield match.secret


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``detect-secrets-hook`` on the files in `argv` with this plugin; 1 when a secret is found.

    A file whose name starts with a dash is passed as ``./-name``, so it is scanned, not taken for
    an option (``--help`` would exit with 0); other arguments (a hook's ``args:``) pass as they are.
    """
    from detect_secrets.pre_commit_hook import main as hook_main

    arguments = [_not_an_option(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    return hook_main([*HOOK_ARGUMENTS, "--plugin", str(Path(__file__).resolve()), *arguments])


def _not_an_option(argument: str) -> str:
    return f"./{argument}" if argument.startswith("-") and Path(argument).is_file() else argument


if __name__ == "__main__":
    sys.exit(main())
