"""Reasoning writer (export time): a run's chain and the responder's notes → first-person reasoning.

Not a graph node: ``oyster export`` calls it once per trained answer (the recombination step of
distillation), so the student learns reasoning in the run's own terms instead of a fixed template.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import invoke_structured
from oyster_agents.nodes._common import messages_for
from oyster_agents.prompts import schema_hint
from oyster_agents.schemas import ReasoningSource, WrittenReasoning

ROLE = "reasoning_writer"
_TAGS = re.compile(r"</?think>", re.IGNORECASE)
_SENTENCES = re.compile(r"[^.!?]+[.!?]+")
_MIN_WORDS = 8


def tidy(text: str, answer: str) -> str:
    """The reasoning as full sentences: tags gone, a sentence cut by ``max_tokens`` dropped, repeated
    sentences and sentences copied from the answer kept out. Raises ``ValueError`` (a re-ask) when too
    little is left, e.g. when the reply only repeats the answer."""
    text = " ".join(_TAGS.sub("", text).split())
    answer_text = " ".join(_TAGS.sub("", answer).split()).lower()
    kept: list[str] = []
    for sentence in (m.group(0).strip() for m in _SENTENCES.finditer(text)):
        key = sentence.lower()
        if key in (k.lower() for k in kept) or (len(key) > 20 and key.rstrip(".!?") in answer_text):
            continue
        kept.append(sentence)
    tidy_text = " ".join(kept)
    if len(tidy_text.split()) < _MIN_WORDS:
        raise ValueError(
            f"the reasoning must be a few full sentences of thinking (at least {_MIN_WORDS} words, ending with a full "
            "stop) that lead to the answer, not the answer repeated"
        )
    return tidy_text


def make_reasoning_writer(runtime: RoleRuntime) -> Callable[[ReasoningSource], str | None]:
    """A function that writes the reasoning for one answer, or returns ``None`` when the model's
    output never validated (after re-asks); the caller then uses its documented fallback."""
    system = {"schema": schema_hint(WrittenReasoning)}

    def write(source: ReasoningSource) -> str | None:
        messages = messages_for(ROLE, system, source.model_dump())

        def check(value: WrittenReasoning) -> WrittenReasoning:
            return WrittenReasoning(reasoning=tidy(value.reasoning, source.answer))

        result = invoke_structured(runtime, messages, WrittenReasoning, fallback=lambda _: WrittenReasoning(reasoning=""),
                                   postprocess=check)
        return None if result.used_fallback else result.value.reasoning

    return write
