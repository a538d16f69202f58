"""Live progress of one ``oyster run`` on standard error: one line per stage, then a summary.

The view reads the graph's own stream, so it follows whatever nodes the graph has:

- ``stream_mode="tasks"`` says which node tasks a super-step starts and when each ends, which gives
  the fan-out counts (strategies k/K, reactions n/N) without knowing K in advance;
- ``stream_mode="custom"`` carries the nodes' progress events (``graphs/progress.py``), whose
  ``step``/``max_steps`` give the Lingo-BP step;
- the last ``stream_mode="values"`` chunk is the run's result.

A node named in :data:`STAGES` is drawn under that stage name (both critics share "judge"); a node
in :data:`QUIET` gets no line; any other node gets a line under its progress label, so nodes added
to the graph later show up without changes here. On a terminal the lines are live (rich); otherwise
(``--progress`` into a file or pipe) each stage prints one plain line when it finishes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn
from rich.text import Text

from oyster_agents.graphs.progress import EVENT_TYPE, LABELS

# Node -> stage shown. Nodes not listed here nor in QUIET are shown under their progress label.
STAGES: dict[str, str] = {
    "assess_risk": "assess",
    "propose_strategy": "strategies",
    "simulate_user": "reactions",
    "solve_game": "solve",
    "answer_unguided": "unguided answer",
    "extract_chain": "extract chain",
    "respond": "respond",
    "react_to_answer": "reactions to answer",
    "judge_safety": "judge",
    "judge_satisfaction": "judge",
    "revise": "revise",
    "review": "review",
}
# Bookkeeping nodes that take no model call: no line of their own.
QUIET = frozenset({"prepare", "collect_candidates", "critique", "score_iterate", "finalize"})


def stage_of(node: str) -> str | None:
    """The stage a node is drawn under, or None for a quiet node."""
    if node in QUIET:
        return None
    return STAGES.get(node) or LABELS.get(node) or node.replace("_", " ")


@dataclass
class Stage:
    """One line: how many of its tasks ran, the Lingo-BP step, and the time it was busy."""

    name: str
    total: int = 0  # tasks started in the current round
    done: int = 0
    step: int | None = None
    max_steps: int | None = None
    busy_s: float = 0.0  # finished busy intervals
    running: set[str] = field(default_factory=set)
    since: float | None = None  # start of the current busy interval
    finished: bool = False

    def seconds(self, now: float) -> float:
        return self.busy_s + (now - self.since if self.since is not None else 0.0)

    def text(self) -> str:
        parts = [self.name]
        if self.total > 1:
            parts.append(f"{self.done}/{self.total}")
        if self.step is not None and self.max_steps:
            parts.append(f"step {self.step}/{self.max_steps}")
        return " ".join(parts)


class RunProgress:
    """Follows a graph stream and draws it; :meth:`finish` prints the one-line summary."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None, header: str = "") -> None:
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.live = self.console.is_terminal if live is None else live
        self.header = header
        self.started = time.monotonic()
        self.stages: dict[str, Stage] = {}
        self.tasks: dict[str, str] = {}  # task id -> stage name
        self._bar: Progress | None = None
        self._rows: dict[str, Any] = {}
        self._shown_done: dict[str, bool] = {}

    # ---- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> "RunProgress":
        if self.header:
            self.console.print(self.header)
        if self.live:
            self._bar = Progress(
                SpinnerColumn(finished_text="✓"), TextColumn("{task.description}"), _Seconds(self),
                console=self.console, transient=False, redirect_stdout=False, redirect_stderr=False,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """A stage outside the graph (the one-time model conversion, model loading)."""
        self._start(name, name)
        try:
            yield
        finally:
            self._end(name)

    # ---- stream handling --------------------------------------------------------------------
    def handle(self, mode: str, data: Any) -> None:
        """Feed one ``(mode, data)`` item of ``graph.stream(..., stream_mode=[...])``."""
        if mode == "tasks" and isinstance(data, Mapping):
            node, task_id = str(data.get("name")), str(data.get("id"))
            name = stage_of(node)
            if name is None:
                return
            if "input" in data:
                self._start(name, task_id)
            else:
                self._end(task_id)
        elif mode == "custom" and isinstance(data, Mapping) and data.get("type") == EVENT_TYPE:
            name = stage_of(str(data.get("node")))
            if name is not None and "step" in data:
                stage = self._stage(name)
                stage.step, stage.max_steps = data.get("step"), data.get("max_steps")
                self._draw(stage)

    def _stage(self, name: str) -> Stage:
        if name not in self.stages:
            self.stages[name] = Stage(name)
            if self._bar is not None:
                self._rows[name] = self._bar.add_task(name, total=None, stage=name)
        return self.stages[name]

    def _start(self, name: str, task_id: str) -> None:
        stage = self._stage(name)
        now = time.monotonic()
        if not stage.running:  # a new round (a new super-step or Lingo-BP step)
            if stage.done >= stage.total:
                stage.total = stage.done = 0
            stage.since = now
        stage.running.add(task_id)
        stage.total += 1
        stage.finished = False
        self.tasks[task_id] = name
        self._draw(stage)

    def _end(self, task_id: str) -> None:
        name = self.tasks.pop(task_id, None)
        if name is None:
            return
        stage = self.stages[name]
        stage.running.discard(task_id)
        stage.done += 1
        if not stage.running:
            now = time.monotonic()
            stage.busy_s += now - (stage.since or now)
            stage.since = None
            stage.finished = True
            if self._bar is None:
                self.console.print(f"✓ {stage.text()}  {stage.busy_s:.1f} s  (at {now - self.started:.0f} s)")
        self._draw(stage)

    def _draw(self, stage: Stage) -> None:
        if self._bar is not None:
            row = self._rows[stage.name]
            if stage.finished:
                self._bar.update(row, description=stage.text(), total=1, completed=1)
                self._shown_done[stage.name] = True
            elif self._shown_done.pop(stage.name, False):  # running again (next step): spin again
                self._bar.reset(row, total=None, description=stage.text())
            else:
                self._bar.update(row, description=stage.text())

    # ---- summary ----------------------------------------------------------------------------
    def finish(self, trace: Mapping[str, Any] | None) -> None:
        """Print the one-line summary: calls, tokens, seconds, fallbacks."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        self.console.print(summary_line(trace, time.monotonic() - self.started))


def summary_line(trace: Mapping[str, Any] | None, seconds: float) -> str:
    """``done in 83 s · 37 calls · 24,785 prompt + 6,502 generated tokens · 2 fallbacks (1 repaired)``."""
    trace = trace or {}
    total = (trace.get("usage") or {}).get("total") or {}
    fallbacks = trace.get("fallbacks") or []
    kinds: dict[str, int] = {}
    for item in fallbacks:
        kinds[item.get("kind", "?")] = kinds.get(item.get("kind", "?"), 0) + 1
    values = kinds.get("fallback_value", 0)
    other = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(kinds.items()) if k != "fallback_value")
    cached = total.get("cached_tokens", 0)
    prompt = f"{total.get('input_tokens', 0):,} prompt" + (f" ({cached:,} cached)" if cached else "")
    return (
        f"done in {seconds:.0f} s · {total.get('calls', 0)} calls · {prompt} + "
        f"{total.get('output_tokens', 0):,} generated tokens · {values} fallbacks"
        + (f" ({other})" if other else "")
    )


class _Seconds(ProgressColumn):
    """The stage's busy seconds, read at draw time so a running stage's clock moves."""

    def __init__(self, view: RunProgress) -> None:
        super().__init__()
        self.view = view

    def render(self, task: Any) -> Text:
        stage = self.view.stages.get(task.fields.get("stage", ""))
        return Text(f"{stage.seconds(time.monotonic()):5.1f} s" if stage else "", style="progress.elapsed")
