"""Names that moved in the runner, server and distill packages: the old place still hands them out, with
a DeprecationWarning that names the new place; unknown names still fail as before."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

# (old module, old name, new module, new name)
MOVED = [
    ("oyster_agents.distributed", "run_batch_ray", "oyster_agents.runner.ray", "run_batch_ray"),
    ("oyster_agents.distributed", "shard_items", "oyster_agents.runner.ray", "shard_items"),
    ("oyster_agents.distributed", "TraceWriter", "oyster_agents.runner.ray", "TraceWriter"),
    ("oyster_agents.server", "sqlite_checkpointer", "oyster_agents.checkpoints", "sqlite_checkpointer"),
    ("oyster_agents.server", "checkpoint_serde", "oyster_agents.checkpoints", "checkpoint_serde"),
    ("oyster_agents.server", "checkpoint_allowlist", "oyster_agents.checkpoints", "checkpoint_allowlist"),
    ("oyster_agents.runner.engine", "default_executor", "oyster_agents.runner.pool", "loop_executor"),
    ("oyster_agents.distill.export", "merge_adapter", "oyster_agents.distill.merge", "merge_adapter"),
    ("oyster_agents.distill.export", "ParityError", "oyster_agents.distill.merge", "ParityError"),
    ("oyster_agents.distill.export", "serving_notes", "oyster_agents.distill.merge", "serving_notes"),
    ("oyster_agents.distill.rows", "reasoning_text", "oyster_agents.distill.assistant", "reasoning_text"),
    ("oyster_agents.distill.rows", "rule_texts", "oyster_agents.distill.assistant", "rule_texts"),
    ("oyster_agents.distill.dataset", "prompt_key", "oyster_agents.distill.split", "prompt_key"),
    ("oyster_agents.distill", "TargetBuilder", "oyster_agents.distill.assistant", "TargetBuilder"),
    ("oyster_agents.distill", "LoadedTrace", "oyster_agents.distill.traces", "LoadedTrace"),
]


@pytest.mark.parametrize(("old", "name", "new", "new_name"), MOVED, ids=[f"{m[0]}.{m[1]}" for m in MOVED])
def test_a_moved_name_is_still_served_from_its_old_place_with_a_warning(old, name, new, new_name):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {new}\.{new_name}"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), new_name)


def test_from_import_of_an_old_name_warns_at_the_importing_line():
    with pytest.warns(DeprecationWarning, match="oyster_agents.runner.ray") as caught:
        from oyster_agents.distributed import run_batch_ray  # noqa: F401
    assert caught[0].filename == __file__


@pytest.mark.parametrize("old", sorted({m[0] for m in MOVED}))
def test_a_name_that_never_existed_still_raises_attribute_error(old):
    module = importlib.import_module(old)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


def test_new_places_import_without_any_warning():
    users = {"oyster_agents.runner", "oyster_agents.distill", "oyster_agents.server", "oyster_agents.eval",
             "oyster_agents.commands.batch", "oyster_agents.commands.chat", "oyster_agents.commands.export",
             "oyster_agents.commands.distill"}
    modules = sorted({m[2] for m in MOVED} | users)
    code = (
        "import importlib, sys, warnings\n"
        "warnings.filterwarnings('error', category=DeprecationWarning, module=r'oyster_agents(\\.|$)')\n"
        "for name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
