"""ScriptedChatModel: the public test double, one instance per role.

Each role gets its own model, so parallel branches that reorder calls cannot mix up replies.
A script entry is a string, an ``AIMessage``, an exception instance (raised), or a callable
``(messages, json_schema) -> str``. A list of entries is used in order, the last one repeating.
With no script, the model writes the smallest JSON that fits the requested schema (or echoes a
short answer for free text): a zero-latency model for wiring tests and overhead benchmarks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

ScriptEntry = Union[str, AIMessage, BaseException, Callable[[list[BaseMessage], Any], Any]]


class ScriptedChatModel(BaseChatModel):
    """A deterministic chat model driven by a script (see module docstring).

    Example:
        >>> fake = ScriptedChatModel(role="safety_critic", script=['{"verdict": "safe", ...}'])
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    role: str = "default"
    script: list[Any] | None = None
    model_name: str = "scripted"

    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "oyster-scripted"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """Every prompt this model received, in call order."""
        return list(self._calls)

    def _next_entry(self) -> ScriptEntry | None:
        with self._lock:
            index = len(self._calls)
            if not self.script:
                return None
            return self.script[min(index, len(self.script) - 1)]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        schema = kwargs.get("json_schema")
        entry = self._next_entry()
        with self._lock:
            self._calls.append(list(messages))
        if entry is None:
            text: Any = json.dumps(minimal_instance(schema)) if schema else _echo(messages)
        elif isinstance(entry, BaseException):
            raise entry
        elif callable(entry):
            text = entry(messages, schema)
        else:
            text = entry
        if isinstance(text, AIMessage):
            message = text
        else:
            content = str(text)
            n_in = sum(len(m.text.split()) for m in messages)
            n_out = len(content.split())
            message = AIMessage(
                content=content,
                usage_metadata={"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out},
                response_metadata={"finish_reason": "stop", "model_name": self.model_name},
            )
        return ChatResult(generations=[ChatGeneration(message=message)])


def scripted_models(scripts: Mapping[str, Sequence[Any] | None] | None = None, roles: Sequence[str] | None = None) -> dict[str, ScriptedChatModel]:
    """One ``ScriptedChatModel`` per role, for ``build_graph(models=...)``.

    Args:
        scripts: role name → script; roles left out get an unscripted (schema-filling) model.
        roles: the roles to create; defaults to every role of the graph.
    """
    from oyster_agents.config import Role

    names = list(roles) if roles is not None else [r.value for r in Role]
    scripts = dict(scripts or {})
    return {name: ScriptedChatModel(role=name, script=list(scripts[name]) if scripts.get(name) else None) for name in names}


def _echo(messages: list[BaseMessage]) -> str:
    last = messages[-1].text if messages else ""
    return f"<think>Plan a careful, helpful answer.</think>Here is a careful answer about: {last[-80:]}"


def minimal_instance(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> Any:
    """The smallest value that validates against a (pydantic-generated) JSON schema."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return minimal_instance(defs[schema["$ref"].split("/")[-1]], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return minimal_instance(schema[key][0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: minimal_instance(props[name], defs) for name in schema.get("required", list(props))}
    if kind == "array":
        item = minimal_instance(schema.get("items", {"type": "string"}), defs)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", low)
        value = max(low, min(0, high))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    return None
