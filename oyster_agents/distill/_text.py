"""Word-level text helpers shared by the leak and contamination checks: normalise, split, n-grams."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# A sentence ends at . ! ? (followed by space) or at a line break; list bullets start new sentences too.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def words(text: str) -> list[str]:
    """Lower-cased words (letters and digits) of ``text`` after Unicode NFKC normalisation."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def normalise(text: str) -> str:
    """The text as one space-joined run of its words: case, punctuation and spacing do not count."""
    return " ".join(words(text))


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """The set of word n-grams of ``tokens`` (empty when there are fewer than ``n`` words)."""
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def sentences(text: str) -> list[str]:
    """The sentences (and lines) of ``text``, in order, each stripped; empty pieces dropped."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]
