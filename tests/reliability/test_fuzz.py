"""The fuzzing harness, short: a few hundred hostile inputs over every input surface (``_fuzz.py``).

The long run is ``python scripts/fuzz.py --minutes N``; its figures are in RELIABILITY.md.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.reliability import _fuzz

# Examples per surface: the cheap readers get more than the surfaces that run the graph.
EXAMPLES = {1: 30, 2: 20, 5: 12}
SURFACES = _fuzz.surfaces()


@pytest.mark.parametrize("surface", SURFACES, ids=[s.name for s in SURFACES])
def test_no_input_breaks_the_surface(surface, ledger):
    tried: list[str] = []

    @settings(max_examples=EXAMPLES[surface.cost], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(surface.strategy())
    def run(case):
        tried.append(surface.check(case))

    run()
    ledger.record("fuzz", surface.name, inputs=len(tried), failures=0, outcomes=sorted(set(tried))[:8])
