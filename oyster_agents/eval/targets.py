"""What gets evaluated: the constructive graph, a local model folder, or a model behind an OpenAI-compatible server.

Target syntax (``--target``, repeatable; an optional ``LABEL=`` prefix names the target in the report):

- ``graph``: the constructive graph built from ``--config`` (and flags);
- ``hf:PATH`` or just ``PATH``: a local transformers folder (a base, or a merged distilled model),
  answered by the model alone; ``hf:default`` is the embedded SmolLM2-135M-Instruct;
- ``openai:BASE_URL:MODEL``: a served model, e.g. ``openai:http://localhost:8000/v1:Qwen/Qwen3-14B``.
  The model name starts after the first ``:`` that follows the URL's path (``/v1``); with no path,
  after the port. The API key, if the server needs one, comes from ``OPENAI_API_KEY``.

Example: ``--target base=hf:models/qwen --target student=openai:http://localhost:8000/v1:oy1-lora``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, convert_to_messages
from pydantic import BaseModel

from oyster_agents.backends import ModelPool, make_models
from oyster_agents.backends.calls import RoleRuntime, call_model
from oyster_agents.config import OysterConfig, Role, RoleModelConfig
from oyster_agents.errors import InputError
from oyster_agents.eval.records import EvalItem
from oyster_agents.nodes.responder import split_reasoning
from oyster_agents.schemas.trace import ALL_UNSAFE

_LABEL = re.compile(r"^([A-Za-z][\w.-]*)=(.+)$", re.DOTALL)
TARGET_HELP = "graph | hf:PATH | PATH | openai:BASE_URL:MODEL, optionally prefixed LABEL="


class TargetSpec(BaseModel):
    """A parsed ``--target`` value."""

    label: str
    kind: Literal["graph", "hf", "openai"]
    model: str | None = None
    base_url: str | None = None
    spec: str


def parse_target(text: str) -> TargetSpec:
    """Parse one ``--target`` value (see the module docstring for the syntax).

    Raises:
        InputError: an empty value, an ``openai:`` target without a model name, or a path that
            is not a model folder.
    """
    raw = text.strip()
    label = None
    match = _LABEL.match(raw)
    if match:
        label, raw = match.group(1), match.group(2).strip()
    if not raw:
        raise InputError(f"empty --target {text!r}; use {TARGET_HELP}")
    if raw == "graph":
        return TargetSpec(label=label or "graph", kind="graph", spec=text)
    if raw.startswith("openai:"):
        base_url, model = _split_openai(raw[len("openai:"):], text)
        return TargetSpec(label=label or model, kind="openai", model=model, base_url=base_url, spec=text)
    path = raw[len("hf:"):] if raw.startswith("hf:") else raw
    if path != "default" and not (Path(path) / "config.json").is_file():
        raise InputError(
            f"--target {text!r}: {path} is not a model folder (no config.json); use {TARGET_HELP}"
        )
    name = "smollm2-default" if path == "default" else Path(path).resolve().name
    return TargetSpec(label=label or name, kind="hf", model=path, spec=text)


def _split_openai(rest: str, text: str) -> tuple[str, str]:
    scheme = rest.find("://")
    if scheme < 0:
        raise InputError(f"--target {text!r}: expected openai:http(s)://HOST[:PORT]/PATH:MODEL")
    after = scheme + 3
    slash = rest.find("/", after)
    if slash >= 0:
        cut = rest.find(":", slash)
    else:  # no path: http://host:port:model, the model follows the second colon of the authority
        first = rest.find(":", after)
        cut = rest.find(":", first + 1) if first >= 0 else -1
    if cut < 0 or cut == len(rest) - 1:
        raise InputError(f"--target {text!r} names no model; write openai:BASE_URL:MODEL, e.g. "
                         "openai:http://localhost:8000/v1:my-model")
    return rest[:cut], rest[cut + 1:]


@dataclass
class Answer:
    """A target's reply to one item."""

    answer: str
    reasoning: str = ""
    trace: dict[str, Any] | None = field(default=None)


class Target(Protocol):
    """Anything that answers eval items."""

    label: str

    def answer(self, item: EvalItem) -> Answer:
        """Answer one item."""
        ...


def target_input(item: EvalItem) -> dict[str, Any]:
    """What every target receives: the query and the history, nothing else (no profile, no labels)."""
    return {"query": item.query, "history": [turn.model_dump() for turn in item.history]}


def chat_messages(item: EvalItem) -> list[BaseMessage]:
    """The item as chat messages: the history's turns, then the query as the last user message."""
    given = target_input(item)
    return convert_to_messages([*given["history"], {"role": "user", "content": given["query"]}])


def returned_reasoning(trace: Mapping[str, Any]) -> str:
    """The reasoning behind the answer a run returned: the selected iterate's, or none when the
    safety gate replaced every (unsafe) iterate by the cautious answer."""
    if any(f.get("kind") == ALL_UNSAFE for f in trace.get("fallbacks", [])):
        return ""
    return trace["iterates"][trace["best_iterate"]].get("reasoning", "")


class GraphTarget:
    """The constructive graph: the answer is the best iterate's; the trace is kept.

    The graph gets :func:`target_input` and the item's id (which names the trace); an item's
    profile, category, level and other labels are never passed, so the graph is not told what
    the benchmark knows about the user.
    """

    def __init__(self, label: str, config: OysterConfig, models: Mapping[str, BaseChatModel]) -> None:
        from oyster_agents.graphs.constructive import build_graph, recursion_limit

        self.label = label
        self._graph = build_graph(config, models=models)
        self._limit = recursion_limit(config)

    def answer(self, item: EvalItem) -> Answer:
        """Run the graph on the item's query."""
        out = self._graph.invoke(
            {**target_input(item), "id": item.id},
            config={"recursion_limit": self._limit},
        )
        trace = out["trace"]
        return Answer(answer=out["answer"], reasoning=returned_reasoning(trace), trace=trace)


class ChatTarget:
    """A model answering alone: the history's turns and the query as the last user message, no system prompt."""

    def __init__(self, label: str, runtime: RoleRuntime) -> None:
        self.label = label
        self.runtime = runtime

    def answer(self, item: EvalItem) -> Answer:
        """One call; ``<think>`` reasoning is split off so the judge sees the final answer."""
        message, _ = call_model(self.runtime, chat_messages(item))
        text = message.text
        reasoning, answer, _ = split_reasoning(text)
        return Answer(answer=answer, reasoning=reasoning)


def target_model_config(spec: TargetSpec, config: OysterConfig) -> RoleModelConfig:
    """The model settings of a model target: the responder's settings with the target's model."""
    base = config.role(Role.RESPONDER)
    if spec.kind == "hf":
        return base.model_copy(update={"backend": "hf", "model": spec.model, "base_url": None})
    if spec.kind == "openai":
        from pydantic import ValidationError

        from oyster_agents._records import describe_errors

        key = os.environ.get("OPENAI_API_KEY")
        try:
            return RoleModelConfig.model_validate({
                **base.model_dump(exclude={"api_key"}),
                "backend": "openai", "model": spec.model, "base_url": spec.base_url, "api_key": key,
            })
        except ValidationError as exc:
            problems = describe_errors(exc, root="")
        # Not chained: pydantic's error holds the inputs, the API key among them.
        raise InputError(f"target {spec.label!r}: {problems}")
    raise InputError(f"target {spec.label!r} is the graph, not a model")


def make_target(
    spec: TargetSpec,
    config: OysterConfig,
    *,
    pool: ModelPool | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
) -> Target:
    """Build a target.

    Args:
        spec: the parsed ``--target``.
        config: the run's configuration (the graph's settings, and the model targets' decoding settings).
        pool: shares loaded models with the judge.
        models: for the graph target, role → chat model (scripted fakes or your own); built if absent.
    """
    pool = pool or ModelPool()
    if spec.kind == "graph":
        role_models = dict(models) if models is not None else make_models(config, pool)
        return GraphTarget(spec.label, config, role_models)
    cfg = target_model_config(spec, config)
    return ChatTarget(spec.label, RoleRuntime(role="target", model=pool.get(cfg), config=cfg))
