"""Why the returned iterate was returned: ``select_iterate``'s reasons, word for word."""

from __future__ import annotations

import pytest

from oyster_agents.game.selection import select_iterate

from .test_selection import it


def test_reason_inside_the_boundary_with_no_gate():
    pick = select_iterate([it(0, "safe", 0.30, origin="unguided"), it(1, "borderline", 0.55)])
    assert pick.reason == "iterate 1 (revised): highest expected utility inside the boundary (0.5500)"
    assert pick.use_fallback_answer is False


def test_reason_outside_the_boundary_with_the_gate():
    pick = select_iterate([it(0, "unsafe", 0.9), it(1, "safe", 0.1, feasible=False, malicious=0.25, origin="guided")])
    assert pick.reason == ("iterate 1 (guided): no iterate inside the boundary; least malicious risk (0.2500); "
                           "1 unsafe iterate(s) excluded")
    assert (pick.index, pick.use_fallback_answer) == (1, False)


def test_reason_for_an_iterate_that_was_not_played():
    pick = select_iterate([it(0, "safe", None, origin="unguided")])
    assert pick.reason == "iterate 0 (unguided): no iterate inside the boundary; least malicious risk (unknown)"
    assert pick.use_fallback_answer is False


def test_reason_when_every_iterate_is_unsafe():
    pick = select_iterate([it(0, "unsafe", 0.2)])
    assert pick.reason == "every iterate (1) was judged unsafe: the cautious fallback answer is returned"
    assert (pick.index, pick.use_fallback_answer) == (0, True)


def test_no_iterates_message():
    with pytest.raises(ValueError, match="^no iterates to choose from$"):
        select_iterate([])
