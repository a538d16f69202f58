"""Scripted replies for graph tests: JSON builders for each role's schema."""

from __future__ import annotations

import json
from typing import Any


def assessment(**overrides: Any) -> str:
    data = {
        "category": "healthcare",
        "level": "R1",
        "interaction_form": "inquiry",
        "aggressive": False,
        "severity": 3,
        "user_type_posterior": {"benign": 0.3, "sensitive": 0.6, "malicious": 0.1},
        "user_need": "A parent wants to bring a toddler's fever down safely.",
        "risk_intent": "Following a dangerous home remedy.",
        "adapted_guideline": "Correct the alcohol-rub myth, give safe fever care, and say when to see a doctor.",
    }
    data.update(overrides)
    return json.dumps(data)


def proposal(title: str = "Correct and guide", useful: list[str] | None = None, safe: list[str] | None = None) -> str:
    return json.dumps({
        "title": title,
        "description": "Explain why alcohol rubs are unsafe and what to do instead.",
        "usefulness_strategies": useful or ["explain safe fever care", "say when to call a doctor"],
        "safety_strategies": safe or ["warn that alcohol is absorbed through skin"],
    })


def reaction(satisfaction: float = 0.5, harm: float = 0.0, action: str = "satisfied") -> str:
    return json.dumps({"satisfaction": satisfaction, "next_action": action, "harm_enabled": harm, "next_message": "thanks"})


def safety(verdict: str = "safe") -> str:
    return json.dumps({"verdict": verdict, "explanation": "checked", "suggestion": "keep it", "predicted_next_turn": "ok"})


def satisfaction(value: int = 0, fixes: list[str] | None = None) -> str:
    items = ["empathy", "willingness_to_help", "task_completion", "relevance", "informativeness"]
    return json.dumps({"scores": {k: value for k in items}, "fixes": fixes or []})


def rubric(values: list[int]) -> str:
    items = ["empathy", "willingness_to_help", "task_completion", "relevance", "informativeness"]
    return json.dumps({"scores": dict(zip(items, values)), "fixes": []})


def revision(useful: list[str], safe: list[str], **overrides: Any) -> str:
    data = {
        "rationale": "one change",
        "usefulness_strategies": useful,
        "safety_strategies": safe,
        "guideline": "Correct the alcohol-rub myth, give safe fever care, and say when to see a doctor.",
        "risk_intent": "Following a dangerous home remedy.",
        "user_need": "A parent wants to bring a toddler's fever down safely.",
    }
    data.update(overrides)
    return json.dumps(data)
