"""Text helpers of the distill package: words, sentences and n-grams for the leak and contamination
checks, and prose fragments tidied into sentences for the reasoning templates."""

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


_SUBJECTLESS = {"wants", "needs", "seeks", "hopes", "asks", "wishes", "would", "is", "has", "feels", "worries"}


def sentence(text: str) -> str:
    """``text`` as one sentence: spaces folded, a subject added to a bare verb, capital first, full stop last."""
    text = " ".join(text.split())
    if not text:
        return ""
    if text.split(" ", 1)[0] in _SUBJECTLESS:  # "wants to ..." reads as a fragment in prose
        text = "The person " + text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def phrase(text: str) -> str:
    """``text`` as a phrase to join into a sentence: no final stop, lower-case first unless an acronym."""
    text = " ".join(text.split()).rstrip(".;,")
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def join_phrases(items: list[str]) -> str:
    """The non-empty phrases joined as ``a, b and c``."""
    phrases = [p for p in (phrase(i) for i in items) if p]
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]
