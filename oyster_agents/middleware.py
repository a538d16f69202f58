"""ConstructiveSafetyMiddleware: constructive safety for ``langchain.agents.create_agent`` agents.

The middleware wraps the agent's model call. When the turn ends in a user message it is
risk-assessed (once per turn; cached). Low-risk turns go to the agent's own model call, tools and
all; risky turns are answered by the constructive-safety graph, whose reply has no tool calls, so
the agent ends its turn with it. Model calls that follow a tool result (the rest of a tool loop
the assessment already let through) are left alone.

Example:
    >>> from langchain.agents import create_agent
    >>> from oyster_agents.middleware import ConstructiveSafetyMiddleware
    >>> agent = create_agent(llm, tools=[search], middleware=[ConstructiveSafetyMiddleware(models={"default": llm})])
    >>> agent.invoke({"messages": [("user", "Can I take ibuprofen with warfarin?")]})
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from oyster_agents.config import OysterConfig
from oyster_agents.guard import ConstructiveGuard, Decision, RouteRule
from oyster_agents.taxonomy import Taxonomy


class ConstructiveSafetyMiddleware(AgentMiddleware):
    """Route risky user turns of a LangChain v1 agent through the constructive-safety graph.

    Args:
        config: the graph's configuration (loop budget, game weights, role models).
        models: role → chat model for the assessor and the graph (``"default"`` covers the rest);
            built from ``config`` when omitted. Pass ``{"default": llm}`` to use the agent's model.
        taxonomy: the policy; defaults to ``config.policy_path`` or the shipped one.
        rule: which assessments count as low risk.
        include_trace: put the full trace in the reply's ``response_metadata["oyster"]``.
        on_trace: called with each graph trace (e.g. to append it to a JSONL file).

    Each reply carries ``response_metadata["oyster"]`` with the route and assessment, as the
    guard's do.
    """

    def __init__(
        self,
        *,
        config: OysterConfig | None = None,
        models: dict[str, BaseChatModel] | None = None,
        taxonomy: Taxonomy | None = None,
        rule: RouteRule | None = None,
        include_trace: bool = False,
        on_trace: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        super().__init__()
        self._settings: dict[str, Any] = {
            "config": config or OysterConfig(), "models": models, "taxonomy": taxonomy,
            "rule": rule or RouteRule(), "include_trace": include_trace, "on_trace": on_trace,
        }
        self._guard: ConstructiveGuard | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "ConstructiveSafetyMiddleware"

    def guard(self, model: BaseChatModel) -> ConstructiveGuard:
        """The guard that assesses and answers for this middleware (built on first use)."""
        with self._lock:
            if self._guard is None:
                self._guard = ConstructiveGuard(model=model, **self._settings)
            return self._guard

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse | AIMessage:
        """Assess the turn; answer risky ones with the graph, pass the rest to the agent's model."""
        if not _is_user_turn(request):
            return handler(request)
        guard = self.guard(request.model)
        decision = guard.assess(request.messages)
        if decision.low_risk:
            return _tagged(handler(request), decision)
        return ModelResponse(result=[guard.answer_risky(request.messages, decision)])

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse | AIMessage:
        """Async :meth:`wrap_model_call`."""
        if not _is_user_turn(request):
            return await handler(request)
        guard = self.guard(request.model)
        decision = await guard.aassess(request.messages)
        if decision.low_risk:
            return _tagged(await handler(request), decision)
        return ModelResponse(result=[await guard.aanswer_risky(request.messages, decision)])


def _is_user_turn(request: ModelRequest) -> bool:
    """The model is about to answer a user message (not continue a tool loop)."""
    return bool(request.messages) and request.messages[-1].type == "human"


def _tagged(response: Any, decision: Decision) -> Any:
    """The agent model's reply with the route and assessment in its metadata."""
    if isinstance(response, AIMessage):
        return decision.tag(response)
    if isinstance(response, ModelResponse):
        result = [decision.tag(m) if isinstance(m, AIMessage) else m for m in response.result]
        return ModelResponse(result=result, structured_response=response.structured_response)
    return response  # an ExtendedModelResponse from an inner middleware: left as it is
