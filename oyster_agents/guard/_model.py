"""``ConstructiveGuard``: the LangChain chat-model interface around routing and the graph."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda, ensure_config
from langchain_core.runnables.config import var_child_runnable_config
from pydantic import ConfigDict, Field, PrivateAttr

from oyster_agents.backends.calls import model_name
from oyster_agents.config import OysterConfig
from oyster_agents.guard._messages import Turn, as_ai, as_chunk, cut_at_stop, split_turn
from oyster_agents.guard._routing import METADATA_KEY, Decision, RouteRule
from oyster_agents.guard._steps import Call, Emit, Next, Steps, arun, astream, run, stream
from oyster_agents.guard._wiring import Parts, trace_summary
from oyster_agents.taxonomy import Taxonomy
from oyster_agents.telemetry.guard_span import GuardSpan

# LangGraph's "messages" stream skips runs tagged so: the guard streams its own answer once, and
# the safety agents' JSON never reaches a user's screen.
_NOSTREAM = "nostream"


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

    _parts: Parts = PrivateAttr(default_factory=Parts)

    @property
    def _llm_type(self) -> str:
        return "oyster-constructive-guard"

    def _model_name(self) -> str:
        return model_name(self.model)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "oyster"
        params["ls_model_name"] = kwargs.get("model") or self._model_name()
        return params

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": model_name(self.model), "rule": self.rule.model_dump(mode="json")}

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

    # LangChain callbacks see the guard as one chat-model call: its own calls run in a context
    # without the caller's run config, so no handler of the caller's sees them (usage counted once,
    # one on_chat_model_start). OpenTelemetry still nests them under the guard's span.
    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        steps = self._reply(messages, stop, run_manager, ensure_config(), kwargs)
        return _result(_isolated().run(run, steps))

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        steps = self._reply(messages, stop, run_manager, ensure_config(), kwargs)
        return _result(await asyncio.create_task(arun(steps), context=_isolated()))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        context = _isolated()
        chunks = stream(self._reply(messages, stop, run_manager, ensure_config(), kwargs, streaming=True))
        try:
            while (chunk := context.run(next, chunks, None)) is not None:
                yield chunk
        finally:
            context.run(chunks.close)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        context = _isolated()
        chunks = astream(self._reply(messages, stop, run_manager, ensure_config(), kwargs, streaming=True))

        async def step() -> ChatGenerationChunk | None:
            return await anext(chunks, None)

        try:
            while (chunk := await asyncio.create_task(step(), context=context)) is not None:
                yield chunk
        finally:
            await asyncio.create_task(chunks.aclose(), context=context)  # type: ignore[attr-defined]

    def _reply(self, messages: list[BaseMessage], stop: list[str] | None, run_manager: Any,
               outer: RunnableConfig, kwargs: dict[str, Any], streaming: bool = False) -> Steps[AIMessage | None]:
        """One guarded call: assess the turn, then answer it with the app's model or the graph.

        Returns the reply; with ``streaming``, emits it as ``ChatGenerationChunk``s instead.
        """
        turn = split_turn(messages)
        config = _inner_config(outer)
        span = _span(run_manager, outer)
        stop = stop or self.stop
        try:
            decision = yield from self._decision(turn, config, span)
            span.decided(decision.metadata())
            if not decision.low_risk:
                reply = yield from self._answer_risky(turn, decision, config, run_manager, stop, kwargs.get("model"),
                                                      span)
                if streaming:
                    yield Emit(ChatGenerationChunk(message=as_chunk(reply, last=False)))
                return reply
            app, kwargs = self._app(kwargs)
            call = Call(app, messages, config, {"stop": stop, **kwargs}, stream=streaming, span=span)
            if streaming:
                yield from _relay((yield call), decision, span)
                return None
            return decision.tag(as_ai((yield call)))
        except GeneratorExit:
            raise
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            span.end()

    def _app(self, kwargs: dict[str, Any]) -> tuple[Runnable[Any, Any], dict[str, Any]]:
        """The app's model for this call: tools bound to the guard are bound to it."""
        kwargs = dict(kwargs)
        tools = kwargs.pop("tools", None)
        if not tools:
            return self.model, kwargs
        choice = kwargs.pop("tool_choice", None)
        extra = {"tool_choice": choice} if choice is not None else {}
        return self.model.bind_tools(tools, **extra), kwargs  # type: ignore[attr-defined]

    # ---- routing -------------------------------------------------------------------------------
    def assess(self, messages: Sequence[BaseMessage], config: RunnableConfig | None = None) -> Decision:
        """Assess the latest turn of a conversation without answering it (cached per turn)."""
        return run(self._decision(split_turn(list(messages)), _hidden(config)))

    async def aassess(self, messages: Sequence[BaseMessage], config: RunnableConfig | None = None) -> Decision:
        """Async :meth:`assess`."""
        return await arun(self._decision(split_turn(list(messages)), _hidden(config)))

    def answer_risky(self, messages: Sequence[BaseMessage], decision: Decision,
                     config: RunnableConfig | None = None) -> AIMessage:
        """Answer the latest turn with the constructive-safety graph (the route of risky turns)."""
        return run(self._answer_risky(split_turn(list(messages)), decision, _hidden(config)))

    async def aanswer_risky(self, messages: Sequence[BaseMessage], decision: Decision,
                            config: RunnableConfig | None = None) -> AIMessage:
        """Async :meth:`answer_risky`."""
        return await arun(self._answer_risky(split_turn(list(messages)), decision, _hidden(config)))

    def _decision(self, turn: Turn, config: RunnableConfig, span: GuardSpan | None = None) -> Steps[Decision]:
        """The turn's decision: remembered, or assessed now (one structured call of the risk assessor)."""
        cached = self._parts.cache.get(turn.key(), self.rule) if self.cache_size else None
        if cached is not None:
            return cached
        # Sync callers run the assessment here; async ones in a worker thread (RunnableLambda.ainvoke).
        decision = yield Call(RunnableLambda(self._assess_turn, name="oyster_risk_assessment"), turn, config, span=span)
        if self.cache_size:
            self._parts.cache.put(turn.key(), decision, self.cache_size)
        return decision

    def _assess_turn(self, turn: Turn) -> Decision:
        from oyster_agents.schemas.query import validate_query
        from oyster_agents.nodes.risk_assessor import assess

        query = validate_query(turn.query, self.config.loop.max_query_chars)
        keep = self.config.loop.max_history_turns
        history = turn.history[-keep:] if keep else []
        runtime, taxonomy = self._parts.assessor(self)
        result = assess(runtime, taxonomy, query, history)
        return Decision(
            assessment=result.value,
            low_risk=self.rule.is_low_risk(result.value),
            calls=list(result.calls),
            fallbacks=list(result.fallbacks),
        )

    # ---- the graph route -----------------------------------------------------------------------
    def _answer_risky(self, turn: Turn, decision: Decision, config: RunnableConfig, run_manager: Any = None,
                      stop: list[str] | None = None, model: str | None = None,
                      span: GuardSpan | None = None) -> Steps[AIMessage]:
        from oyster_agents.graphs.constructive import recursion_limit

        # The trace id follows the guard's run id, so a caller that sets ``run_id`` knows it up front.
        run_id = getattr(run_manager, "run_id", None) or uuid.uuid4()
        given = {"query": turn.query, "history": [t.model_dump() for t in turn.history], "id": f"guard-{run_id.hex}",
                 "precomputed_assessment": decision.graph_input()}
        graph_config: RunnableConfig = {**config, "recursion_limit": recursion_limit(self.config)}
        out = yield Call(self._parts.graph(self), given, graph_config, span=span)
        return self._graph_message(out, decision, stop, model)

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
        total = (trace.get("usage") or {}).get("total") or {}  # includes the assessment (Decision.graph_input)
        n_in = int(total.get("input_tokens", 0))
        n_out = int(total.get("output_tokens", 0))
        return AIMessage(
            content=cut_at_stop(out["answer"], stop),
            response_metadata={METADATA_KEY: metadata, "model_name": model or self._model_name()},
            usage_metadata={"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out},
        )


def _relay(chunks: Any, decision: Decision, span: GuardSpan) -> Steps[None]:
    """The app model's stream as it comes, with the route and assessment on the first chunk only
    (merging chunks would repeat their strings)."""
    first = True
    while (chunk := (yield Next(chunks, span))) is not None:
        yield Emit(ChatGenerationChunk(message=decision.tag(as_chunk(chunk)) if first else as_chunk(chunk)))
        first = False
    if first:  # the app's model streamed nothing
        yield Emit(ChatGenerationChunk(message=decision.tag(AIMessageChunk(content=""))))


# ---- run configs and contexts ------------------------------------------------------------------
def _hidden(config: RunnableConfig | None) -> RunnableConfig:
    """``config`` with the tag that keeps its model calls out of LangGraph's messages stream."""
    config = dict(config or {})  # type: ignore[assignment]
    config["tags"] = [*(config.get("tags") or []), _NOSTREAM]
    return config  # type: ignore[return-value]


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


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])
