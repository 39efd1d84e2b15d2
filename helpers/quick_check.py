"""A quick check for log lines: does a text hold any of many short words? Mostly it does not.

Redaction runs for every log record, and most records hold no secret. Before the expensive
search for keys, `QuickCheck` answers "could this text hold one?" from the words every secret
comes with (the catalogue's anchors such as ``sk-`` or ``bearer``, the known secret values)::

    check = QuickCheck([("sk-", ""), ("token", "=")])   # "token" counts only before "="
    check.found_in("GET /v1/models 200")                 # False: nothing to redact

Python's ``re`` tries an alternation at every position that starts one of its branches, and each
try costs as much as scanning dozens of characters; thirty ``in`` tests cost more still. So each
word is looked for from its rarest character (``k`` in ``sk-``) and the rest is checked around it,
and the few words made only of common characters (``asia``) get plain ``in`` tests, which are
faster for them. The answer is exact: True if and only if a word occurs (followed by its
expression) in the lower-cased text.

Needs: the standard library only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["QuickCheck"]

# Characters from the most to the least frequent in log lines (any other one is rarer still).
_BY_FREQUENCY = " etaoinsrhldcu0123456789/.:-m,=fpgwy'\"b()v[]{}k_xjqz"
_RARE = _BY_FREQUENCY.index("w")  # from here on, a character is rare enough to search for


def _rarity(char: str) -> int:
    """How rare `char` is in log lines (higher: rarer). It decides speed only, never an answer."""
    found = _BY_FREQUENCY.find(char)  # pragma: no mutate - any ranking gives the same answers
    return len(_BY_FREQUENCY) if found < 0 else found  # pragma: no mutate - as above


def _either(alternatives: list[str]) -> str:
    """An expression matching any of `alternatives` (nothing to match if one of them is empty)."""
    # (An empty alternative matches the empty string either way: "(?:|x)" finds what "" finds.)
    return "" if "" in alternatives else f"(?:{'|'.join(alternatives)})"  # pragma: no mutate


class QuickCheck:
    """Whether a text, lower-cased, holds any of `words`: pairs of a word and an expression that
    must follow it ("" for none)."""

    def __init__(self, words: Iterable[tuple[str, str]]) -> None:
        distinct = {(word, after) for word, after in words if word}
        plain = {word for word, after in distinct if not after}
        # A word that holds a plain word is found whenever the plain word is: "sk-" does for "sk-proj-".
        needed = sorted((w, after) for w, after in distinct if not any(p in w and p != w for p in plain))
        # pivot character -> what follows it (and the check of the whole word) -> what may follow that
        tails: defaultdict[str, defaultdict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        common_words, common_patterns = [], []
        for word, after in needed:
            pivot = max(range(len(word)), key=lambda i: _rarity(word[i]))  # pragma: no mutate - speed only
            if _rarity(word[pivot]) >= _RARE:  # pragma: no mutate - speed only
                behind = f"(?<={re.escape(word)})" if pivot else ""  # pragma: no mutate - redundant at 0
                tails[word[pivot]][re.escape(word[pivot + 1:]) + behind].add(after)
            elif after:
                common_patterns.append((word, re.compile(f"{re.escape(word)}(?:{after})")))
            else:
                common_words.append(word)
        expression = "|".join(
            re.escape(char) + _either([tail + _either(sorted(then)) for tail, then in sorted(ends.items())])
            for char, ends in sorted(tails.items()))
        self._rare = re.compile(expression or "(?!)")  # pragma: no mutate - "(?!)" never matches, nor "X(?!)"
        self._common_words = tuple(common_words)
        self._common_patterns = tuple(common_patterns)

    def found_in(self, text: str) -> bool:
        """True if ``text.lower()`` holds one of the words, followed by what must follow it."""
        lowered = text.lower()
        if self._rare.search(lowered) is not None:
            return True
        for word in self._common_words:  # noqa: SIM110 - a plain loop is faster than any() on a generator
            if word in lowered:
                return True
        for word, pattern in self._common_patterns:  # noqa: SIM110 - as above
            if word in lowered and pattern.search(lowered) is not None:
                return True
        return False
