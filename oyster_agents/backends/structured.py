"""invoke_structured: one structured call = constrained decoding, parse, repair, re-ask, fallback.

Every node uses this. The order of defences:
1. constrained decoding where the backend has it (xgrammar locally, ``response_format`` on vLLM);
2. parse: find the JSON object in the reply and repair it (fences, prose, truncation);
3. validate with pydantic; on failure re-ask, showing the model its reply and the error
   (tenacity, ``max_reasks`` times; a reply cut at ``max_tokens`` twice is not re-asked again);
4. then the node's documented conservative fallback, recorded in the trace; with no fallback,
   :class:`MalformedOutputError` carrying the raw text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from oyster_agents._records import describe_errors
from oyster_agents.backends._json import extract_json
from oyster_agents.backends.calls import RoleRuntime, call_model
from oyster_agents.errors import MalformedOutputError
from oyster_agents.schemas.trace import CallRecord, Fallback

T = TypeVar("T", bound=BaseModel)


@dataclass
class Structured(Generic[T]):
    """A validated value plus the calls it took and any repairs or fallbacks."""

    value: T
    calls: list[CallRecord] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    raw: str = ""

    @property
    def used_fallback(self) -> bool:
        """True when the value is the node's fallback, not the model's."""
        return any(f.kind == "fallback_value" for f in self.fallbacks)


class _Invalid(Exception):
    def __init__(self, reason: str, raw: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.final = final  # not worth another re-ask


def _worth_reasking(exc: BaseException) -> bool:
    return isinstance(exc, _Invalid) and not exc.final


# Bounds applied only to the schema sent for constrained decoding (validation does not enforce them):
# they stop a small model from growing a list, or rambling inside one string, until max_tokens cuts the
# object. A string that reaches its bound is closed by the grammar and the object goes on. xgrammar
# compiles these bounds in well under a second per schema (measured in docs/performance.md).
MAX_LIST_ITEMS = 5
MAX_STRING_CHARS = 320  # a sentence or two: the longest free-text field a schema asks for
MAX_ITEM_CHARS = 120  # one list item: a short phrase


def json_schema_of(schema: type[BaseModel], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON schema sent for constrained decoding: bounded, with per-property overrides (e.g. an enum)."""
    js = schema.model_json_schema()
    for prop, patch in (overrides or {}).items():
        js["properties"][prop] = {**js["properties"].get(prop, {}), **patch}
    return _bounded(js)


def _bounded(node: Any, limit: int | None = None) -> Any:
    if isinstance(node, dict):
        if limit is None:
            limit = MAX_STRING_CHARS
        out = {k: _bounded(v, MAX_ITEM_CHARS if k == "items" else limit) for k, v in node.items()}
        if out.get("type") == "array":
            out.setdefault("maxItems", MAX_LIST_ITEMS)
        if out.get("type") == "string" and not {"enum", "const", "pattern", "format"} & set(out) and limit:
            out.setdefault("maxLength", limit)
        return out
    if isinstance(node, list):
        return [_bounded(v, limit) for v in node]
    return node


def invoke_structured(
    runtime: RoleRuntime,
    messages: Sequence[BaseMessage],
    schema: type[T],
    *,
    fallback: Callable[[str], T] | None = None,
    schema_overrides: dict[str, Any] | None = None,
    postprocess: Callable[[T], T] | None = None,
) -> Structured[T]:
    """Call the role's model and return a validated ``schema`` instance.

    Args:
        runtime: the role's model and settings.
        messages: the prompt.
        schema: the pydantic model to produce.
        fallback: builds the conservative value from the last error message; when omitted,
            :class:`MalformedOutputError` is raised instead.
        schema_overrides: JSON-schema patches per property for constrained decoding.
        postprocess: a check or normalisation that may raise ``ValueError`` (then re-ask).

    Raises:
        BackendError: transport failures after backoff (never swallowed here).
        MalformedOutputError: output never validated and there is no fallback.
    """
    js = json_schema_of(schema, schema_overrides)
    conversation = list(messages)
    result: Structured[T] = Structured(value=None)  # type: ignore[arg-type]
    last_raw = ""
    cut_replies = 0

    def attempt() -> T:
        nonlocal last_raw, cut_replies
        message, record = call_model(runtime, conversation, json_schema=js, schema_name=schema.__name__)
        record.schema_name, record.reask, record.parsed = schema.__name__, len(result.calls), "invalid"
        result.calls.append(record)
        raw = message.text
        last_raw = raw
        finish = record.finish_reason
        try:
            data, repaired = extract_json(raw, accept=lambda value: _fits(schema, value))
            value = schema.model_validate(data)
            if postprocess is not None:
                value = postprocess(value)
        except (ValueError, ValidationError) as exc:
            reason = _describe(exc)
            # A reply cut at max_tokens comes back cut again unless the model is told to be brief, and
            # a second cut shows it will not fit the budget: further re-asks would only repeat the cost.
            cut_replies += finish == "length"
            ask = "Reply again with a shorter JSON object" if finish == "length" else "Reply again with only the JSON object"
            conversation.extend([
                AIMessage(content=raw[:2000]),
                HumanMessage(content=f"That reply was not usable: {reason}. {ask}."),
            ])
            raise _Invalid(reason, raw, final=cut_replies >= 2) from exc
        record.parsed = "repaired" if repaired or finish == "length" else "valid"
        if record.parsed == "repaired":
            detail = "output was cut at max_tokens and closed by repair" if finish == "length" else "JSON extracted or repaired"
            result.fallbacks.append(Fallback(role=runtime.role, kind="repaired_json", detail=detail))
        return value

    attempts = runtime.config.max_reasks + 1
    try:
        for attempt_state in Retrying(
            stop=stop_after_attempt(attempts), retry=retry_if_exception(_worth_reasking), reraise=True
        ):
            with attempt_state:
                result.value = attempt()
        if len(result.calls) > 1:
            result.fallbacks.append(
                Fallback(role=runtime.role, kind="reasked", detail=f"valid after {len(result.calls)} attempts")
            )
        result.raw = last_raw
        return result
    except _Invalid as exc:
        if fallback is None:
            raise MalformedOutputError(
                f"{schema.__name__} never validated: {exc.reason}", role=runtime.role, raw=exc.raw, attempts=len(result.calls)
            ) from exc
        result.value = fallback(exc.reason)
        result.raw = exc.raw
        result.fallbacks.append(
            Fallback(role=runtime.role, kind="fallback_value", detail=f"{schema.__name__}: {exc.reason}"[:500])
        )
        return result


def _fits(schema: type[BaseModel], value: dict[str, Any]) -> bool:
    try:
        schema.model_validate(value)
    except ValidationError:
        return False
    return True


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return describe_errors(exc, limit=5, root="(object)")
    return str(exc)[:300]
