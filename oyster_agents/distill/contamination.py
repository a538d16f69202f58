"""Contamination check: is a training query one of the evaluation prompts?

A query matches an evaluation prompt when their normalised texts are equal (case, punctuation and
spacing ignored), or when most of the query's word n-grams occur in one evaluation prompt (a
prompt with a few words added, cut or changed). The evaluation prompts come from the caller, read
at run time from the benchmark files; nothing of them is stored here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from oyster_agents.distill._text import ngrams, normalise, words


class EvalPrompt(BaseModel):
    """One evaluation prompt: its suite (``xstest``, ``strata-sword``, ``gsm8k-test``, ``constructive``),
    its id and its text."""

    suite: str
    id: str
    text: str


class ContaminationSettings(BaseModel):
    """How close a query must come to an evaluation prompt to count as the same.

    Attributes:
        n: words per n-gram.
        min_overlap: share of the shorter text's n-grams found in the other one.
    """

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=6, ge=2)
    min_overlap: float = Field(default=0.6, gt=0.0, le=1.0)


class Match(BaseModel):
    """A training query that matches an evaluation prompt."""

    suite: str
    id: str
    how: str = Field(description="'exact' (normalised text) or 'overlap 0.83' (n-gram share).")


class ContaminationIndex:
    """Evaluation prompts indexed by normalised text and by word n-gram."""

    def __init__(self, prompts: Iterable[EvalPrompt], settings: ContaminationSettings | None = None) -> None:
        self.settings = settings or ContaminationSettings()
        self.prompts: list[EvalPrompt] = list(prompts)
        self._exact: dict[str, int] = {}
        self._grams: list[set[tuple[str, ...]]] = []
        self._by_gram: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for index, prompt in enumerate(self.prompts):
            self._exact.setdefault(normalise(prompt.text), index)
            grams = ngrams(words(prompt.text), self.settings.n)
            self._grams.append(grams)
            for gram in grams:
                self._by_gram[gram].append(index)

    def suites(self) -> dict[str, int]:
        """Prompts per suite."""
        counts: dict[str, int] = {}
        for prompt in self.prompts:
            counts[prompt.suite] = counts.get(prompt.suite, 0) + 1
        return counts

    def match(self, query: str) -> Match | None:
        """The evaluation prompt ``query`` reproduces, or ``None``."""
        key = normalise(query)
        if not key:
            return None
        if key in self._exact:
            hit = self.prompts[self._exact[key]]
            return Match(suite=hit.suite, id=hit.id, how="exact")
        grams = ngrams(key.split(" "), self.settings.n)
        if not grams:
            return None
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for index in self._by_gram.get(gram, ()):
                shared[index] += 1
        best, best_share = None, 0.0
        for index, count in shared.items():
            share = count / min(len(grams), len(self._grams[index]))
            if share > best_share:
                best, best_share = index, share
        if best is None or best_share < self.settings.min_overlap:
            return None
        hit = self.prompts[best]
        return Match(suite=hit.suite, id=hit.id, how=f"overlap {best_share:.2f}")
