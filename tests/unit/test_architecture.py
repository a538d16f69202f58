"""Layering rules (import-linter, pyproject.toml), what importing loads, moved names that still work,
and prompt templates that render with every value they need."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys
import tomllib
import warnings
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


def test_importing_distill_loads_no_heavy_package():
    # import-linter sees imports wherever they are written; this checks that the training stack and
    # LangGraph, which distill may import inside functions (or not at all), stay out at import time.
    heavy = ("torch", "transformers", "trl", "peft", "datasets", "langgraph", "langchain_core")
    code = "import sys, oyster_agents.distill; print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (heavy,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_version_has_one_source_the_project_metadata(capsys):
    import oyster_agents
    from oyster_agents import cli

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert oyster_agents.__version__ == importlib.metadata.version("oyster-agents") == declared
    with pytest.raises(SystemExit):
        cli.make_parser().parse_args(["--version"])
    assert capsys.readouterr().out.strip() == f"oyster-agents {declared}"


@pytest.mark.parametrize("name", ["clean_text", "validate_query", "validate_history"])
def test_query_checks_keep_a_deprecated_alias_in_the_graph_module(name):
    from oyster_agents.schemas import query

    constructive = importlib.import_module("oyster_agents.graphs.constructive")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alias = getattr(constructive, name)
    assert alias is getattr(query, name)
    assert [w.category for w in caught] == [DeprecationWarning]
    assert f"oyster_agents.schemas.query.{name}" in str(caught[0].message)
    with pytest.raises(AttributeError):
        constructive.no_such_name  # noqa: B018


def test_evaluation_records_are_the_schema_layers_own():
    from oyster_agents.eval import records
    from oyster_agents.schemas import evaluation

    models = {n for n, v in vars(evaluation).items() if isinstance(v, type) and v.__module__ == evaluation.__name__}
    assert models <= set(records.__all__)
    assert all(getattr(records, name) is getattr(evaluation, name) for name in models)


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


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_layers_diagram_in_the_docs_is_drawn_from_the_contract():
    diagram = _script("layers_diagram")
    layers = diagram.contract_layers()
    assert layers[0] == ["cli"] and layers[-1][0] == "errors"
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert diagram.with_diagram(doc, layers) == doc, "run python scripts/layers_diagram.py"
    assert diagram.mermaid([["a"], ["b", "c"]]).splitlines()[2:5] == ['    L0["a"]', '    L1["b · c"]', "    L0 --> L1"]


LONG_MODULE = 350


def test_every_module_over_350_lines_is_listed_with_its_reason():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc.split("<!-- long modules -->")[1].split("<!-- end of long modules -->")[0]
    listed = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    long = {str(path.relative_to(ROOT)) for path in (ROOT / "oyster_agents").rglob("*.py")
            if len(path.read_text(encoding="utf-8").splitlines()) > LONG_MODULE}
    assert long - listed == set(), "split these modules by job, or say in docs/architecture.md why they stay long"
    assert listed - long == set(), "these modules are no longer long: remove them from docs/architecture.md"
