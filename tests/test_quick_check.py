"""Tests for helpers.quick_check: the answer is exactly "does a word occur, followed by what must
follow it", whatever the words and the text; only the speed depends on which characters are rare."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.quick_check import QuickCheck

# Small alphabets make words occur in texts often; they mix rare ("kx_") and common ("aes ") characters.
ALPHABET = "aeskx_-= Σσς"
words = st.lists(st.tuples(st.text(ALPHABET, min_size=1, max_size=4),
                           st.sampled_from(["", "=", "[:=]", "s?-"])), max_size=6)


def occurs(pairs: list[tuple[str, str]], text: str) -> bool:
    """The plain definition: some word is in text.lower() with its expression matching right after it."""
    lowered = text.lower()
    return any(re.match(after, lowered[at + len(word):]) if after else True
               for word, after in pairs for at in range(len(lowered)) if lowered.startswith(word, at))


@given(pairs=words, text=st.text(ALPHABET + "AEKSX", max_size=30))
def test_the_quick_check_answers_exactly_whether_a_word_occurs(
    pairs: list[tuple[str, str]], text: str
) -> None:
    lowered_pairs = [(word.lower(), after) for word, after in pairs]
    assert QuickCheck(lowered_pairs).found_in(text) == occurs(lowered_pairs, text)


@pytest.mark.parametrize(("pairs", "text", "expected"), [
    ([("sk-", "")], "key is SK-abc", True),               # rare pivot (k), any case
    ([("asia", "")], "an ASIA key", True),                # common characters only: an `in` test
    ([("secret", "=")], "the secret is out", False),      # common word, expression not followed
    ([("secret", "=")], "SECRET=abc", True),
    ([("token", "=")], "1532 prompt tokens", False),      # rare pivot, expression not followed
    ([("token", "="), ("tokens", "")], "1532 prompt tokens", True),
    ([], "anything at all", False),
])
def test_the_quick_check_on_examples(pairs: list[tuple[str, str]], text: str, expected: bool) -> None:
    assert QuickCheck(pairs).found_in(text) is expected
