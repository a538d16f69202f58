"""``oyster_agents.distill`` reads traces and nothing of the graph: no LangGraph, nodes or graphs, and no
training stack at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import oyster_agents.distill

DISTILL = Path(oyster_agents.distill.__file__).parent
ALLOWED_INTERNAL = (
    "oyster_agents.distill", "oyster_agents.schemas", "oyster_agents.errors", "oyster_agents._safe_load",
    "oyster_agents._records",
    "oyster_agents._moved",  # deprecated aliases of moved names (standard library only)
)
HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "langgraph", "langchain_core")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
    return found


def test_distill_imports_only_schemas_and_errors_of_the_package():
    for path in sorted(DISTILL.glob("*.py")):
        for module, _ in _imports(path):
            if module.startswith("oyster_agents"):
                assert module.startswith(ALLOWED_INTERNAL), f"{path.name} imports {module}"
            assert not module.startswith(("langgraph", "langchain")), f"{path.name} imports {module}"


def test_training_stack_is_imported_inside_functions_only():
    for path in sorted(DISTILL.glob("*.py")):
        for module, top_level in _imports(path):
            if module.split(".")[0] in HEAVY:
                assert not top_level, f"{path.name} imports {module} at module level"


def test_importing_distill_loads_no_heavy_package():
    code = "import sys, oyster_agents.distill; print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr
