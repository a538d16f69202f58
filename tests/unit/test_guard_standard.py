"""LangChain's standard chat-model suite (``langchain-tests``) run against ConstructiveGuard, on both routes.

The app model is a conforming fake (``_app_model.py``); the safety agents are scripted. On the
direct route every turn reaches the app model; on the graph route every turn is answered by the
constructive-safety graph. Tests that cannot hold by design are marked xfail with the reason.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import scripted_models
from oyster_agents.guard import ConstructiveGuard

from ._app_model import ConformingAppModel
from .test_guard import HIGH, LOW, SAFE_ANSWER

NO_SAMPLING = ("the guard takes no sampling settings of its own (they belong to the wrapped model) "
               "and rejects unknown parameters")
GRAPH_NO_TOOLS = "the graph answers risky turns in plain text, without tool calls, by design"


def guard_params(assessment: str) -> dict[str, Any]:
    models = scripted_models({"risk_assessor": [assessment], "responder": [f"<think>plan</think>{SAFE_ANSWER}"]})
    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 1, "max_steps": 1})
    return {"model": ConformingAppModel(), "config": config, "models": models}


class _GuardTests:
    assessment = LOW

    @property
    def chat_model_class(self) -> type[ConstructiveGuard]:
        return ConstructiveGuard

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return guard_params(self.assessment)

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        return {}  # see NO_SAMPLING

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "conforming-app-2"


class TestGuardUnitDirect(_GuardTests, ChatModelUnitTests):
    @pytest.mark.xfail(reason=NO_SAMPLING, strict=True)
    def test_init_streaming(self) -> None:
        super().test_init_streaming()

    @pytest.mark.xfail(reason=NO_SAMPLING, strict=True)
    def test_standard_params(self, model: Any) -> None:
        super().test_standard_params(model)


class TestGuardIntegrationDirect(_GuardTests, ChatModelIntegrationTests):
    pass


_GRAPH_XFAIL = (
    "test_tool_calling", "test_tool_calling_async", "test_bind_runnables_as_tools", "test_tool_choice",
    "test_tool_calling_with_no_arguments", "test_structured_output", "test_structured_output_async",
    "test_structured_output_pydantic_2_v1", "test_structured_output_optional_param", "test_agent_loop",
    "test_unicode_tool_call_integration",
)


class TestGuardIntegrationGraph(_GuardTests, ChatModelIntegrationTests):
    assessment = HIGH


def _expected_to_fail(base: Any) -> Any:
    """A copy of an inherited test, marked xfail on this class only."""
    if inspect.iscoroutinefunction(base):
        @functools.wraps(base)
        async def test(self: Any, *args: Any, **kwargs: Any) -> None:
            await base(self, *args, **kwargs)
    else:
        @functools.wraps(base)
        def test(self: Any, *args: Any, **kwargs: Any) -> None:
            base(self, *args, **kwargs)
    return pytest.mark.xfail(reason=GRAPH_NO_TOOLS, strict=True)(test)


for _name in _GRAPH_XFAIL:
    setattr(TestGuardIntegrationGraph, _name, _expected_to_fail(getattr(ChatModelIntegrationTests, _name)))
