"""Traces for the view tests, made by the real graph with scripted models (deterministic per branch)."""

from __future__ import annotations

import re
from typing import Any

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models

from . import _scripts as s

HOSTILE = ("<script>window.__pwned=1</script> <img src=x onerror=\"window.__pwned=2\"> {{ 7*7 }} {% if 1 %}x{% endif %} "
           "</textarea><textarea> </script><script>window.__pwned=3</script> \" onmouseover=\"window.__pwned=4")
QUERY = "My toddler has had a fever for two days and a forum says to rub her with alcohol. Should I?"

_TITLES = {"refusal_with_guidance": "Decline and redirect", "partial_help": "Safe fever care only",
           "full_help_with_safety_framing": "Full answer, framed", "misconception_correction": "Correct the myth"}
# (satisfaction, harm_enabled, next action) per (strategy kind, user type): one infeasible candidate (full help
# arms the malicious type), the rest inside the boundary with different utilities.
_REACTIONS = {
    ("refusal_with_guidance", "benign"): (-0.4, 0.0, "leave"),
    ("refusal_with_guidance", "sensitive"): (-0.2, 0.0, "rephrase"),
    ("refusal_with_guidance", "malicious"): (-0.6, 0.0, "keep_attacking"),
    ("partial_help", "benign"): (0.6, 0.05, "satisfied"),
    ("partial_help", "sensitive"): (0.5, 0.1, "satisfied"),
    ("partial_help", "malicious"): (0.0, 0.2, "rephrase"),
    ("full_help_with_safety_framing", "benign"): (0.9, 0.1, "satisfied"),
    ("full_help_with_safety_framing", "sensitive"): (0.8, 0.3, "satisfied"),
    ("full_help_with_safety_framing", "malicious"): (0.5, 0.9, "keep_attacking"),
    ("misconception_correction", "benign"): (0.7, 0.0, "satisfied"),
    ("misconception_correction", "sensitive"): (0.8, 0.05, "satisfied"),
    ("misconception_correction", "malicious"): (-0.2, 0.1, "leave"),
}


def _text(messages: list[Any]) -> str:
    return str(messages[-1].content) if messages else ""


def _strategist(messages: list[Any], schema: Any) -> str:
    match = re.search(r"kind: (\w+)", _text(messages))
    kind = match.group(1) if match else "partial_help"
    return s.proposal(_TITLES.get(kind, kind), useful=[f"{kind.replace('_', ' ')} step", "say when to call a doctor"],
                      safe=["warn that alcohol is absorbed through skin"])


def _simulator(messages: list[Any], schema: Any) -> str:
    text = _text(messages)
    user = next((t for t in ("malicious", "sensitive", "benign") if f"a {t} user" in text), "benign")
    if "Assistant's answer:" in text:  # the game played on an iterate's answer: the revised one pleases most
        sat = 0.9 if "three days" in text else 0.5 if "myth" in text else 0.1
        return s.reaction(sat if user != "malicious" else -0.5, 0.05, "satisfied" if user != "malicious" else "leave")
    kind = next((k for k in _TITLES if f"({k})" in text), None)
    sat, harm, action = _REACTIONS.get((kind, user), (0.3, 0.05, "satisfied"))
    return s.reaction(sat, harm, action)


ANSWERS = ["Please don't use alcohol: it is absorbed through skin.",
           "Alcohol rubs are a myth: skin absorbs it. Keep her in light clothes and offer fluids.",
           "Alcohol rubs are a myth: skin absorbs it. Keep her in light clothes, offer fluids, and call a doctor if "
           "the fever lasts past three days."]


def scripted_trace(query: str = QUERY, *, steps: int = 3, trace_id: str = "fever-1", **assessment: Any) -> dict[str, Any]:
    """A full trace: K = 4 candidates (one outside the boundary); iterate 0 the model's own answer, iterate 1
    written from the chosen strategy, iterate 2 after the reviser proposed four changes to the usefulness list
    and the trust region cut them to one."""
    config = OysterConfig(roles={"default": {"backend": "fake", "retry_backoff_s": 0}},
                          loop={"candidates": 4, "max_steps": steps})
    extracted = s.revision(["tell her not to use alcohol"], ["mention skin absorption"])
    greedy = s.revision(["explain safe fever care", "say when to call a doctor", "give the paracetamol dose by weight",
                         "list cooling steps"], ["warn that alcohol is absorbed through skin"])
    models = scripted_models({
        "risk_assessor": [s.assessment(**assessment)],
        "strategist": [_strategist],
        "user_simulator": [_simulator],
        "responder": [f"<think>step {n}</think>{a}" for n, a in enumerate(ANSWERS)],
        "safety_critic": [s.safety("borderline"), s.safety("borderline"), s.safety("safe")],
        "satisfaction_critic": [s.rubric([0, -1, -1, 1, 0]), s.rubric([1, 0, 0, 1, 0]), s.rubric([1, 1, 0, 1, 1])],
        "reviser": [extracted, greedy],
    })
    return build_graph(config, models=models).invoke({"query": query, "id": trace_id})["trace"]


def as_schema_1_0(trace: dict[str, Any]) -> dict[str, Any]:
    """The same trace as a 1.0 writer would have written it (none of the 1.1 fields)."""
    old = {k: v for k, v in trace.items()
           if k not in ("selection_reason", "policy_rule_id", "policy_rule", "boundary_limit")}
    old["schema_version"] = "1.0"
    old["iterates"] = [{k: v for k, v in it.items() if k not in ("origin", "game", "answer_tokens")}
                       for it in trace["iterates"]]
    old["candidates"] = [{k: v for k, v in c.items() if k not in ("expected_risk", "cost")} for c in trace["candidates"]]
    return old


def with_iterate_games(trace: dict[str, Any]) -> dict[str, Any]:
    """The trace with every schema 1.1 field a method-complete writer fills in (iterate 0 unguided, the game
    played on each iterate's answer, the policy rule, the boundary, the selection reason)."""
    new = {**trace, "policy_rule_id": "healthcare", "policy_rule": "Give safe, general health guidance; refer to a "
           "professional for diagnosis.", "boundary_limit": 0.3,
           "selection_reason": "the highest expected utility inside the boundary among iterates judged safe"}
    iterates = []
    for n, it in enumerate(trace["iterates"]):
        source = trace["candidates"][trace["chosen"]]
        reactions = [{**r, "candidate_index": it["step"], "next_message": f"step {n} {r['user_type']} reply"}
                     for r in source["reactions"]]
        game = {"reactions": reactions, "utility_by_type": {k: v + 0.1 * n for k, v in source["utility_by_type"].items()},
                "risk_by_type": source["risk_by_type"], "expected_utility": source["expected_utility"] + 0.1 * n,
                "expected_risk": 0.05, "malicious_risk": source["risk_by_type"]["malicious"], "cost": 0.01,
                "feasible": True}
        iterates.append({**it, "game": game, "answer_tokens": 20})
    new["iterates"] = iterates
    return new
