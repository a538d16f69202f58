"""Layering rules (import-linter) and prompt templates that render with every value they need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oyster_agents.config import Role
from oyster_agents.prompts import render, schema_hint
from oyster_agents.schemas import RiskAssessment

ROOT = Path(__file__).resolve().parents[2]


def test_import_layers_hold():
    exe = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_cli_help_does_not_import_heavy_packages():
    code = "import sys; from oyster_agents import cli; cli.make_parser(); print(sorted(m for m in ('torch','transformers','langgraph','trl','vllm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("role", [r.value for r in Role] + ["risk_classifier", "chain_extractor", "responder_unguided"])
def test_every_system_prompt_is_static_text_before_any_query(role):
    system = render(role, "system", schema=schema_hint(RiskAssessment), categories="a: A", authority="mode")
    assert "{{" not in system and "{%" not in system
    assert "<<<" not in system  # the query is only ever in the user part


def test_missing_template_values_fail_loudly():
    from jinja2.exceptions import UndefinedError

    with pytest.raises(UndefinedError):
        render("safety_critic", "user", query="q")  # answer and guideline missing
