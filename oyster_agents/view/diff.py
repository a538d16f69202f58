"""What changed in the reasoning chain from one Lingo-BP iterate to the next."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from oyster_agents.schemas import ReasoningChain

Op = Literal["same", "add", "del"]
_TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    """A run of text that was kept, added or removed."""

    op: Op
    text: str


@dataclass(frozen=True)
class ListItem:
    """A strategy that was kept, added or removed."""

    op: Op
    text: str


@dataclass(frozen=True)
class ChainDiff:
    """The chain of one iterate compared with the previous one (``None`` before: everything is kept)."""

    user_need: list[Segment]
    risk_intent: list[Segment]
    guideline: list[Segment]
    usefulness: list[ListItem]
    safety: list[ListItem]

    @property
    def added(self) -> int:
        """Strategies added, both lists."""
        return sum(1 for i in (*self.usefulness, *self.safety) if i.op == "add")

    @property
    def removed(self) -> int:
        """Strategies removed, both lists."""
        return sum(1 for i in (*self.usefulness, *self.safety) if i.op == "del")

    @property
    def text_changed(self) -> list[str]:
        """Names of the text nodes (U, R, G) that changed."""
        return [name for name, segs in (("user need", self.user_need), ("risk intent", self.risk_intent),
                                        ("guideline", self.guideline)) if any(s.op != "same" for s in segs)]

    @property
    def changed(self) -> bool:
        """Whether anything changed."""
        return bool(self.added or self.removed or self.text_changed)


def text_diff(old: str, new: str) -> list[Segment]:
    """Word-level diff of ``old`` → ``new``; adjacent runs of one kind are merged."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[Segment] = []

    def push(op: Op, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if out and out[-1].op == op:
            out[-1] = Segment(op, out[-1].text + text)
        else:
            out.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            push("same", a[i1:i2])
        else:
            push("del", a[i1:i2])
            push("add", b[j1:j2])
    return out


def list_diff(old: list[str], new: list[str]) -> list[ListItem]:
    """The new list in order, each item kept or added, then the removed items (case-insensitive match)."""
    before = {s.strip().lower() for s in old}
    after = {s.strip().lower() for s in new}
    items = [ListItem("same" if s.strip().lower() in before else "add", s) for s in new]
    items += [ListItem("del", s) for s in old if s.strip().lower() not in after]
    return items


def chain_diff(previous: ReasoningChain | None, chain: ReasoningChain) -> ChainDiff:
    """Compare a chain with the one before it (``previous=None``: nothing to compare, all kept)."""
    if previous is None:
        return ChainDiff(
            user_need=[Segment("same", chain.user_need)],
            risk_intent=[Segment("same", chain.risk_intent)],
            guideline=[Segment("same", chain.guideline)],
            usefulness=[ListItem("same", s) for s in chain.usefulness_strategies],
            safety=[ListItem("same", s) for s in chain.safety_strategies],
        )
    return ChainDiff(
        user_need=text_diff(previous.user_need, chain.user_need),
        risk_intent=text_diff(previous.risk_intent, chain.risk_intent),
        guideline=text_diff(previous.guideline, chain.guideline),
        usefulness=list_diff(previous.usefulness_strategies, chain.usefulness_strategies),
        safety=list_diff(previous.safety_strategies, chain.safety_strategies),
    )
