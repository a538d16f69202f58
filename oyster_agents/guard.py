"""ConstructiveGuard: constructive safety around the chat model an app already has.

Every turn is risk-assessed first (one structured call of the risk assessor). Low-risk turns go
straight to the app's model, unchanged: its tools, streaming and usage metadata pass through.
Risky turns are answered by the constructive-safety graph, with the conversation's earlier turns
as history. The guard is itself a LangChain chat model, so it drops into chains and agents
(``invoke``, ``ainvoke``, ``stream``, ``astream``, ``batch``, ``bind_tools``).

Each returned message carries ``response_metadata["oyster"]``: the route taken (``"direct"`` or
``"constructive"``), the assessment summary and, for the graph route, the run id, a summary of
the trace and (with ``include_trace=True``) the trace itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda, ensure_config
from langchain_core.runnables.config import var_child_runnable_config
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from oyster_agents.config import OysterConfig, Role
from oyster_agents.errors import ConfigError, InputError
from oyster_agents.schemas import CallRecord, ChatTurn, Fallback, RiskAssessment, RiskLevel
from oyster_agents.taxonomy import Taxonomy
from oyster_agents.telemetry.guard_span import GuardSpan

DIRECT = "direct"
CONSTRUCTIVE = "constructive"
METADATA_KEY = "oyster"
_LEVEL_RANK = {RiskLevel.R0: 0, RiskLevel.R1: 1, RiskLevel.R2: 2}
# LangGraph's "messages" stream skips runs tagged so: the guard streams its own answer once, and
# the safety agents' JSON never reaches a user's screen.
_NOSTREAM = "nostream"


class RouteRule(BaseModel):
    """Which assessments are low risk, i.e. go straight to the app's model.

    A turn is low risk when all three hold: level at most ``max_level``, severity at most
    ``max_severity`` and the malicious posterior at most ``max_malicious``.
    """

    model_config = ConfigDict(extra="forbid")

    max_level: RiskLevel = RiskLevel.R0
    max_severity: int = Field(default=1, ge=0, le=4)
    max_malicious: float = Field(default=0.2, ge=0.0, le=1.0)

    def is_low_risk(self, assessment: RiskAssessment) -> bool:
        """True when the turn may skip the constructive graph."""
        return (
            _LEVEL_RANK[assessment.level] <= _LEVEL_RANK[self.max_level]
            and assessment.severity <= self.max_severity
            and assessment.user_type_posterior.malicious <= self.max_malicious
        )


@dataclass
class Turn:
    """The latest user message and the conversation before it."""

    query: str
    history: list[ChatTurn]

    def key(self) -> str:
        """A digest of the turn: tool-loop steps that follow one user message share it."""
        data = [self.query, [(t.role, t.content) for t in self.history]]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class Decision:
    """The assessment of one turn and the route it implies."""

    assessment: RiskAssessment
    low_risk: bool
    cached: bool = False
    calls: list[CallRecord] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)

    @property
    def input_tokens(self) -> int:
        """Prompt tokens the assessment took (0 when it came from the cache)."""
        return sum(c.input_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        """Tokens the assessment generated (0 when it came from the cache)."""
        return sum(c.output_tokens for c in self.calls)

    def metadata(self) -> dict[str, Any]:
        """The ``response_metadata["oyster"]`` entries every reply carries."""
        a = self.assessment
        return {
            "route": DIRECT if self.low_risk else CONSTRUCTIVE,
            "assessment": {
                "category": a.category,
                "level": a.level.value,
                "severity": a.severity,
                "interaction_form": a.interaction_form.value,
                "malicious": round(a.user_type_posterior.malicious, 4),
            },
            "assessment_cached": self.cached,
            "assessment_usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "assessment_fallbacks": [f.kind for f in self.fallbacks],
        }


@dataclass
class _Shared:
    """Lazily built parts, shared by a guard and its ``bind_tools`` copies."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    graph: Any = None
    assessor: Any = None
    taxonomy: Taxonomy | None = None
    models: Mapping[str, BaseChatModel] | None = None
    cache: OrderedDict[str, Decision] = field(default_factory=OrderedDict)


class ConstructiveGuard(BaseChatModel):
    """A chat model that routes risky turns through the constructive-safety graph.

    Args:
        model: the app's chat model (or a runnable such as ``model.bind_tools(...)``).
        config: the graph's configuration (loop budget, game weights, role models).
        models: role → chat model for the assessor and the graph (``"default"`` covers the rest);
            built from ``config`` when omitted.
        taxonomy: the policy; defaults to ``config.policy_path`` or the shipped one.
        rule: which assessments count as low risk.
        include_trace: put the full ``RunTrace`` dict in the metadata of graph answers.
        on_trace: called with each graph trace (e.g. to append it to a JSONL file for distillation).
        wrappers: call wrappers for every safety-agent model call (tracing).
        cache_size: assessments remembered per turn, so the steps of one tool loop assess once.
        stop: stop sequences for every call (the app's model gets them; graph answers are cut there).

    Other parameters are errors: sampling settings belong to the wrapped model.

    Example:
        >>> from oyster_agents.guard import ConstructiveGuard
        >>> guard = ConstructiveGuard(model=app_llm, models={"default": app_llm})
        >>> reply = guard.invoke([("user", "Can I take ibuprofen with my blood thinner?")])
        >>> reply.response_metadata["oyster"]["route"]
        'constructive'
    """

    # A misspelt or foreign setting (temperature=..., streaming=...) is an error, not silently dropped:
    # sampling settings belong to the wrapped model.
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    model: Runnable[Any, Any]
    config: OysterConfig = Field(default_factory=OysterConfig)
    models: dict[str, BaseChatModel] | None = None
    taxonomy: Taxonomy | None = None
    rule: RouteRule = Field(default_factory=RouteRule)
    include_trace: bool = False
    on_trace: Callable[[dict[str, Any]], Any] | None = None
    wrappers: list[Any] = Field(default_factory=list)
    cache_size: int = Field(default=256, ge=0)
    stop: list[str] | None = None

    _shared: _Shared = PrivateAttr(default_factory=_Shared)

    @property
    def _llm_type(self) -> str:
        return "oyster-constructive-guard"

    def _model_name(self) -> str:
        return _name_of(self.model)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "oyster"
        params["ls_model_name"] = kwargs.get("model") or self._model_name()
        return params

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": _name_of(self.model), "rule": self.rule.model_dump(mode="json")}

    # ---- LangChain interface -----------------------------------------------------------------
    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        """Bind tools: a binding of the guard, whose low-risk turns pass them to the app's model.

        Graph answers (risky turns) are plain text without tool calls.
        """
        from langchain_core.utils.function_calling import convert_to_openai_tool

        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _app(self, kwargs: dict[str, Any]) -> tuple[Runnable[Any, Any], dict[str, Any]]:
        """The app's model for this call: tools bound to the guard are bound to it."""
        kwargs = dict(kwargs)
        tools = kwargs.pop("tools", None)
        if not tools:
            return self.model, kwargs
        choice = kwargs.pop("tool_choice", None)
        extra = {"tool_choice": choice} if choice is not None else {}
        return self.model.bind_tools(tools, **extra), kwargs  # type: ignore[attr-defined]

    # LangChain callbacks see the guard as one chat-model call: its own calls run in a context
    # without the caller's run config, so no handler of the caller's sees them (usage counted once,
    # one on_chat_model_start). OpenTelemetry still nests them under the guard's span.
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _isolated().run(self._answer, messages, stop, run_manager, ensure_config(), **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        outer = ensure_config()
        return await asyncio.create_task(self._aanswer(messages, stop, run_manager, outer, **kwargs),
                                         context=_isolated())

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        outer = ensure_config()
        context = _isolated()
        chunks = self._answer_stream(messages, stop, run_manager, outer, **kwargs)
        try:
            while (chunk := context.run(next, chunks, None)) is not None:
                yield chunk
        finally:
            context.run(chunks.close)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        outer = ensure_config()
        context = _isolated()
        chunks = self._aanswer_stream(messages, stop, run_manager, outer, **kwargs)

        async def step() -> ChatGenerationChunk | None:
            return await anext(chunks, None)

        try:
            while (chunk := await asyncio.create_task(step(), context=context)) is not None:
                yield chunk
        finally:
            await asyncio.create_task(chunks.aclose(), context=context)

    def _answer(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        outer: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn = split_turn(messages)
        config = _inner_config(outer)
        span = _span(run_manager, outer)
        stop = stop or self.stop
        try:
            with span.current():
                decision = self._decide(turn, config)
                span.decided(decision.metadata())
                if decision.low_risk:
                    app, kwargs = self._app(kwargs)
                    reply = app.invoke(messages, config, stop=stop, **kwargs)
                    return _result(_tagged(_as_ai(reply), decision.metadata()))
                out = self._graph().invoke(self._graph_input(turn, run_manager),
                                           self._graph_config(config, decision))
                return _result(self._graph_message(out, decision, stop, kwargs.get("model")))
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            span.end()

    async def _aanswer(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        outer: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn = split_turn(messages)
        config = _inner_config(outer)
        span = _span(run_manager, outer)
        stop = stop or self.stop
        try:
            with span.current():
                decision = await self._adecide(turn, config)
                span.decided(decision.metadata())
                if decision.low_risk:
                    app, kwargs = self._app(kwargs)
                    reply = await app.ainvoke(messages, config, stop=stop, **kwargs)
                    return _result(_tagged(_as_ai(reply), decision.metadata()))
                out = await self._graph().ainvoke(self._graph_input(turn, run_manager),
                                                  self._graph_config(config, decision))
                return _result(self._graph_message(out, decision, stop, kwargs.get("model")))
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            span.end()

    def _answer_stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        outer: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        turn = split_turn(messages)
        config = _inner_config(outer)
        span = _span(run_manager, outer)
        stop = stop or self.stop
        try:
            decision = span.call(self._decide, turn, config)
            span.decided(decision.metadata())
            if decision.low_risk:
                # The span is current around each step of the app's stream only, never across a yield.
                app, kwargs = self._app(kwargs)
                chunks = span.call(app.stream, messages, config, stop=stop, **kwargs)
                pending: dict[str, Any] | None = decision.metadata()
                while (chunk := span.call(next, chunks, None)) is not None:
                    yield _chunk_of(chunk, pending)
                    pending = None
                if pending is not None:  # the app's model streamed nothing
                    yield _chunk_of(AIMessageChunk(content=""), pending)
                return
            out = span.call(self._graph().invoke, self._graph_input(turn, run_manager),
                            self._graph_config(config, decision))
            yield _as_chunk(self._graph_message(out, decision, stop, kwargs.get("model")))
        except GeneratorExit:
            raise
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            span.end()

    async def _aanswer_stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        outer: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        turn = split_turn(messages)
        config = _inner_config(outer)
        span = _span(run_manager, outer)
        stop = stop or self.stop
        try:
            with span.current():
                decision = await self._adecide(turn, config)
            span.decided(decision.metadata())
            if decision.low_risk:
                metadata: dict[str, Any] | None = decision.metadata()
                with span.current():
                    app, kwargs = self._app(kwargs)
                    chunks = app.astream(messages, config, stop=stop, **kwargs).__aiter__()
                while True:
                    with span.current():
                        chunk = await anext(chunks, None)
                    if chunk is None:
                        break
                    yield _chunk_of(chunk, metadata)
                    metadata = None
                if metadata is not None:  # the app's model streamed nothing
                    yield _chunk_of(AIMessageChunk(content=""), metadata)
                return
            with span.current():
                out = await self._graph().ainvoke(self._graph_input(turn, run_manager),
                                                  self._graph_config(config, decision))
            yield _as_chunk(self._graph_message(out, decision, stop, kwargs.get("model")))
        except GeneratorExit:
            raise
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            span.end()

    # ---- routing -------------------------------------------------------------------------------
    def assess(self, messages: Sequence[BaseMessage], config: RunnableConfig | None = None) -> Decision:
        """Assess the latest turn of a conversation without answering it (cached per turn)."""
        return self._decide(split_turn(list(messages)), _hidden(config))

    async def aassess(self, messages: Sequence[BaseMessage], config: RunnableConfig | None = None) -> Decision:
        """Async :meth:`assess`."""
        return await self._adecide(split_turn(list(messages)), _hidden(config))

    def answer_risky(self, messages: Sequence[BaseMessage], decision: Decision,
                     config: RunnableConfig | None = None) -> AIMessage:
        """Answer the latest turn with the constructive-safety graph (the route of risky turns)."""
        turn = split_turn(list(messages))
        out = self._graph().invoke(self._graph_input(turn), self._graph_config(_hidden(config), decision))
        return self._graph_message(out, decision)

    async def aanswer_risky(self, messages: Sequence[BaseMessage], decision: Decision,
                            config: RunnableConfig | None = None) -> AIMessage:
        """Async :meth:`answer_risky`."""
        turn = split_turn(list(messages))
        out = await self._graph().ainvoke(self._graph_input(turn), self._graph_config(_hidden(config), decision))
        return self._graph_message(out, decision)

    def _decide(self, turn: Turn, config: RunnableConfig) -> Decision:
        cached = self._cached(turn)
        if cached is not None:
            return cached
        runnable = RunnableLambda(self._assess_turn, name="oyster_risk_assessment")
        return self._remember(turn, runnable.invoke(turn, config))

    async def _adecide(self, turn: Turn, config: RunnableConfig) -> Decision:
        cached = self._cached(turn)
        if cached is not None:
            return cached
        runnable = RunnableLambda(self._assess_turn, name="oyster_risk_assessment")
        return self._remember(turn, await runnable.ainvoke(turn, config))  # runs in a worker thread

    def _assess_turn(self, turn: Turn) -> Decision:
        from oyster_agents.graphs.constructive import validate_query
        from oyster_agents.nodes.risk_assessor import assess

        query = validate_query(turn.query, self.config.loop.max_query_chars)
        keep = self.config.loop.max_history_turns
        history = turn.history[-keep:] if keep else []
        runtime, taxonomy = self._assessor()
        result = assess(runtime, taxonomy, query, history)
        return Decision(
            assessment=result.value,
            low_risk=self.rule.is_low_risk(result.value),
            calls=list(result.calls),
            fallbacks=list(result.fallbacks),
        )

    def _cached(self, turn: Turn) -> Decision | None:
        if not self.cache_size:
            return None
        key, shared = turn.key(), self._shared
        with shared.lock:
            hit = shared.cache.get(key)
            if hit is None:
                return None
            shared.cache.move_to_end(key)
        # The cache is shared with copies (bind_tools, model_copy) whose rule may differ: route anew.
        return Decision(hit.assessment, self.rule.is_low_risk(hit.assessment), cached=True, fallbacks=hit.fallbacks)

    def _remember(self, turn: Turn, decision: Decision) -> Decision:
        if self.cache_size:
            shared = self._shared
            with shared.lock:
                shared.cache[turn.key()] = decision
                while len(shared.cache) > self.cache_size:
                    shared.cache.popitem(last=False)
        return decision

    # ---- lazily built parts ---------------------------------------------------------------------
    def _assessor(self) -> tuple[Any, Taxonomy]:
        shared = self._shared
        with shared.lock:
            if shared.assessor is None:
                from oyster_agents.backends import make_models
                from oyster_agents.backends.calls import RoleRuntime
                from oyster_agents.taxonomy import load_taxonomy

                # One set of role models for the assessor and the graph (a local model loads once).
                shared.models = self.models if self.models is not None else make_models(self.config)
                shared.taxonomy = self.taxonomy or load_taxonomy(self.config.policy_path)
                role = Role.RISK_ASSESSOR.value
                model = shared.models.get(role) or shared.models.get("default")
                if model is None:
                    raise ConfigError(f"no model for role '{role}': pass models['{role}'] or models['default']")
                from oyster_agents.telemetry.spans import trace_call

                wrappers = [*self.wrappers, trace_call]  # as the graph's own runtimes get (instrument_builder)
                shared.assessor = RoleRuntime(role=role, model=model, config=self.config.role(role), wrappers=wrappers)
            return shared.assessor, shared.taxonomy  # type: ignore[return-value]

    def _graph(self) -> Any:
        _, taxonomy = self._assessor()
        shared = self._shared
        with shared.lock:
            if shared.graph is None:
                from oyster_agents.graphs.constructive import ASSESS, graph_builder
                from oyster_agents.telemetry import instrument_graph

                builder = graph_builder(self.config, models=shared.models, taxonomy=taxonomy, wrappers=list(self.wrappers))
                builder.nodes[ASSESS].runnable = _ReusedAssessment(builder.nodes[ASSESS].runnable)
                shared.graph = instrument_graph(builder.compile(name="oyster"))
            return shared.graph

    def _graph_input(self, turn: Turn, run_manager: Any = None) -> dict[str, Any]:
        history = [t.model_dump() for t in turn.history]
        # The trace id follows the guard's run id, so a caller that sets ``run_id`` knows it up front.
        run_id = getattr(run_manager, "run_id", None) or uuid.uuid4()
        return {"query": turn.query, "history": history, "id": f"guard-{run_id.hex}"}

    def _graph_config(self, config: RunnableConfig, decision: Decision) -> RunnableConfig:
        from oyster_agents.graphs.constructive import recursion_limit

        # The graph takes the guard's assessment instead of asking the model again (same prompt,
        # same answer, one call less); JSON-ready, as LangGraph may copy it into checkpoint metadata.
        reused = {
            "assessment": decision.assessment.model_dump(mode="json"),
            "calls": [] if decision.cached else [c.model_dump(mode="json") for c in decision.calls],
            "fallbacks": [f.model_dump(mode="json") for f in decision.fallbacks],
        }
        configurable = {**(config.get("configurable") or {}), _REUSE_KEY: reused}
        return {**config, "configurable": configurable, "recursion_limit": recursion_limit(self.config)}

    def _graph_message(
        self, out: Mapping[str, Any], decision: Decision, stop: list[str] | None = None, model: str | None = None
    ) -> AIMessage:
        trace = out["trace"]
        if self.on_trace is not None:
            self.on_trace(trace)
        metadata = decision.metadata()
        metadata.update(run_id=trace.get("id"), trace_id=trace.get("trace_id"), summary=trace_summary(trace))
        if self.include_trace:
            metadata["trace"] = trace
        total = (trace.get("usage") or {}).get("total") or {}  # includes the assessment (see _graph_config)
        n_in = int(total.get("input_tokens", 0))
        n_out = int(total.get("output_tokens", 0))
        return AIMessage(
            content=_cut_at_stop(out["answer"], stop),
            response_metadata={METADATA_KEY: metadata, "model_name": model or self._model_name()},
            usage_metadata={"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out},
        )


# ---- helpers -----------------------------------------------------------------------------------
_REUSE_KEY = "oyster_guard_assessment"


class _ReusedAssessment(Runnable[Any, Any]):
    """The graph's ``assess_risk`` node, taking the guard's assessment when the run carries one."""

    def __init__(self, inner: Runnable[Any, Any]) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", None) or "assess_risk"

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        reused = ((config or {}).get("configurable") or {}).get(_REUSE_KEY)
        return self.inner.invoke(input, config, **kwargs) if reused is None else _reused_update(reused)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        reused = ((config or {}).get("configurable") or {}).get(_REUSE_KEY)
        return await self.inner.ainvoke(input, config, **kwargs) if reused is None else _reused_update(reused)


def _reused_update(reused: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "assessment": RiskAssessment.model_validate(reused["assessment"]),
        "usage": [CallRecord.model_validate(c) for c in reused["calls"]],
        "fallbacks": [Fallback.model_validate(f) for f in reused["fallbacks"]],
    }


def split_turn(messages: Sequence[BaseMessage]) -> Turn:
    """The latest user message as the query; every message before it as history.

    Tool calls and tool results become assistant turns in words, so the assessor sees them.

    Raises:
        InputError: there is no message at all.
    """
    if not messages:
        raise InputError("the guard got no messages; pass at least the user's message")
    last_user = max((i for i, m in enumerate(messages) if m.type == "human"), default=len(messages) - 1)
    history = [turn for m in messages[:last_user] if (turn := to_chat_turn(m)) is not None]
    return Turn(query=text_of(messages[last_user]), history=history)


def to_chat_turn(message: BaseMessage) -> ChatTurn | None:
    """A LangChain message as a history turn (``None`` for an empty one)."""
    text = text_of(message)
    if message.type == "human":
        role = "user"
    elif message.type == "system":
        role = "system"
    elif isinstance(message, ToolMessage):
        role, text = "assistant", f"(tool {message.name or 'result'} returned) {text}"
    else:
        role = "assistant"
        calls = getattr(message, "tool_calls", None) or []
        if calls:
            called = ", ".join(f"{c['name']}({json.dumps(c.get('args', {}), ensure_ascii=False)})" for c in calls)
            text = f"{text} (called tools: {called})".strip()
    return ChatTurn(role=role, content=text) if text.strip() else None


def text_of(message: BaseMessage) -> str:
    """The text of a message; a non-text block (an image, a file) becomes a placeholder such as ``[image attached]``."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [b if isinstance(b, str) else b.get("text") or _placeholder(b) for b in content if isinstance(b, (str, dict))]
    return "\n".join(p for p in parts if p)


def _placeholder(block: Mapping[str, Any]) -> str:
    """A word for a non-text block (image, file, audio), so the assessor knows the user sent one."""
    kind = str(block.get("type") or "attachment").replace("_url", "").replace("input_", "")
    return "" if kind in ("text", "tool_use", "tool_call", "reasoning", "thinking") else f"[{kind} attached]"


def trace_summary(trace: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers of a trace a host app logs: scores of the best iterate, steps, fallbacks, time."""
    iterates = trace.get("iterates") or []
    best_index = trace.get("best_iterate", 0)
    best = iterates[best_index] if iterates else {}
    return {
        "iterates": len(iterates),
        "best_iterate": best_index,
        "safety_score": best.get("safety_score"),
        "satisfaction_score": best.get("satisfaction_score"),
        "constructive_score": best.get("constructive_score"),
        "fallbacks": len(trace.get("fallbacks") or []),
        "wall_seconds": (trace.get("usage") or {}).get("wall_seconds"),
    }


def _hidden(config: RunnableConfig | None) -> RunnableConfig:
    """``config`` with the tag that keeps its model calls out of LangGraph's messages stream."""
    config = dict(config or {})
    config["tags"] = [*(config.get("tags") or []), _NOSTREAM]
    return config  # type: ignore[return-value]


def _cut_at_stop(text: str, stop: list[str] | None) -> str:
    """The answer up to the first stop sequence, as a model honouring ``stop`` would end it."""
    cut = min((i for s in stop or () if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def _span(run_manager: Any, outer: RunnableConfig | None = None) -> GuardSpan:
    # stream()/astream() hand no run manager to _stream: then the enclosing run's metadata is used.
    return GuardSpan(run_manager.inheritable_metadata if run_manager is not None else (outer or {}).get("metadata"))


def _isolated() -> contextvars.Context:
    """A copy of the current context (OpenTelemetry's included) without LangChain's run config."""
    context = contextvars.copy_context()
    context.run(var_child_runnable_config.set, None)
    return context


def _inner_config(outer: RunnableConfig | None) -> RunnableConfig:
    """Config for the guard's own calls (assessment, graph, app model): no callbacks, hidden from streams.

    LangChain callbacks see the guard as one chat-model call: its inner calls get none of the
    caller's handlers, so usage is counted once and ``on_chat_model_start`` fires once. They are
    traced with OpenTelemetry, nested under the guard's span. The enclosing run's ``configurable``
    is kept, so inside a LangGraph node the graph runs as a subgraph (progress events reach the
    app's ``custom`` stream with ``subgraphs=True``).
    """
    # A manager with no handlers, not an empty list: config merging (e.g. in a binding) drops a falsy list.
    config: RunnableConfig = {"tags": [_NOSTREAM], "callbacks": CallbackManager(handlers=[])}
    configurable = (outer or {}).get("configurable")
    if configurable:
        config["configurable"] = dict(configurable)
    return config


def _name_of(model: Any) -> str:
    from oyster_agents.backends.calls import model_name  # lazily: the guard loads backends on first use

    return model_name(model)


def _as_ai(message: Any) -> AIMessage:
    if isinstance(message, AIMessage):
        return message
    return AIMessage(content=getattr(message, "content", str(message)))


def _tagged(message: AIMessage, metadata: dict[str, Any]) -> AIMessage:
    return message.model_copy(update={"response_metadata": {**message.response_metadata, METADATA_KEY: metadata}})


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def _to_chunk(message: Any) -> AIMessageChunk:
    """A whole reply (a model that does not stream yields one) as one chunk: tool calls, usage, metadata kept."""
    if isinstance(message, AIMessageChunk):
        return message
    if not isinstance(message, AIMessage):
        return AIMessageChunk(content=getattr(message, "content", str(message)))
    calls = [
        {"name": c["name"], "args": json.dumps(c.get("args", {}), ensure_ascii=False), "id": c.get("id"), "index": i,
         "type": "tool_call_chunk"}
        for i, c in enumerate(message.tool_calls)
    ]
    return AIMessageChunk(
        content=message.content,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        usage_metadata=message.usage_metadata,
        tool_call_chunks=calls,
        id=message.id,
        name=message.name,
        chunk_position="last",
    )


def _chunk_of(chunk: Any, metadata: dict[str, Any] | None) -> ChatGenerationChunk:
    message = _to_chunk(chunk)
    if metadata is not None:  # on one chunk only: merging chunks would concatenate repeated strings
        message = message.model_copy(update={"response_metadata": {**message.response_metadata, METADATA_KEY: metadata}})
    return ChatGenerationChunk(message=message)


def _as_chunk(message: AIMessage) -> ChatGenerationChunk:
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=message.content,
            response_metadata=message.response_metadata,
            usage_metadata=message.usage_metadata,
        )
    )
