"""The trust region of Lingo-BP: at most one strategy changes per list per step.

A proposal is compared with the old list item by item. If it adds, removes or rewords at most one
item, it is kept. Otherwise it is projected back to the old list plus the single most plausible
change: a rewording (the most similar removed/added pair), else one addition, else one removal.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class ListEdit:
    """The outcome of projecting one list."""

    items: list[str]
    changes_proposed: int
    projected: bool


def _norm(item: str) -> str:
    return " ".join(item.lower().split()).strip(" .;,")


def project_list(old: list[str], new: list[str], max_changes: int = 1) -> ListEdit:
    """Return ``new`` if it is within ``max_changes`` edits of ``old``, else its projection.

    An edit is one addition, one removal, or one rewording (a removal paired with an addition).
    """
    old_keys = {_norm(x) for x in old}
    new_keys = {_norm(x) for x in new}
    removed = [x for x in old if _norm(x) not in new_keys]
    added = [x for x in new if _norm(x) not in old_keys]
    changes = max(len(removed), len(added))  # a removal+addition pair counts as one rewording
    if changes <= max_changes:
        return ListEdit(items=_dedupe(new), changes_proposed=changes, projected=False)
    result = list(old)
    budget = max_changes
    removed_left, added_left = list(removed), list(added)
    while budget > 0 and (removed_left or added_left):
        if removed_left and added_left:
            pair = max(
                ((r, a) for r in removed_left for a in added_left),
                key=lambda p: difflib.SequenceMatcher(None, _norm(p[0]), _norm(p[1])).ratio(),
            )
            result[result.index(pair[0])] = pair[1]
            removed_left.remove(pair[0])
            added_left.remove(pair[1])
        elif added_left:
            result.append(added_left.pop(0))
        else:
            result.remove(removed_left.pop(0))
        budget -= 1
    return ListEdit(items=_dedupe(result), changes_proposed=changes, projected=True)


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = _norm(item)
        if key and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return out
