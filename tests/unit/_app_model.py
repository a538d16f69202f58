"""A deterministic app model that behaves like a real provider for LangChain's standard tests.

It answers in words, streams word by word with usage on the last chunk only, honours ``stop`` and
``model=``, and, with tools bound, calls the tool ``tool_choice`` names (else the first one) with
arguments read from the user's message: integers in the order they appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)


def _value(schema: dict[str, Any], numbers: list[int], text: str) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return numbers.pop(0) if numbers else 1
    if kind == "number":
        return float(numbers.pop(0)) if numbers else 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return text


class ConformingAppModel(BaseChatModel):
    """A stand-in for a provider chat model (see module docstring)."""

    model_config = ConfigDict(extra="forbid")

    model_name: str = "conforming-app-1"

    @property
    def _llm_type(self) -> str:
        return "conforming-app"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "conforming"
        params["ls_model_name"] = kwargs.get("model") or self.model_name
        return params

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable[Any, Any]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _reply(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> AIMessage:
        tools = kwargs.get("tools") or []
        last = messages[-1] if messages else None
        n_in = sum(len(_text(m).split()) for m in messages) or 1
        meta = {"model_name": kwargs.get("model") or self.model_name, "finish_reason": "stop"}
        if tools and last is not None and last.type == "human":
            choice = kwargs.get("tool_choice")
            named = choice if isinstance(choice, str) and choice not in ("any", "auto", "required", "none") else None
            if isinstance(choice, dict):
                named = (choice.get("function") or {}).get("name")
            function = next((t["function"] for t in tools if t["function"]["name"] == named), tools[0]["function"])
            numbers = [int(n) for n in re.findall(r"-?\d+", _text(last))]
            params = function.get("parameters") or {}
            args = {name: _value(spec, numbers, _text(last)) for name, spec in (params.get("properties") or {}).items()
                    if name in (params.get("required") or params.get("properties") or {})}
            call = {"name": function["name"], "args": args, "id": f"call_{len(messages)}", "type": "tool_call"}
            usage = {"input_tokens": n_in, "output_tokens": 5, "total_tokens": n_in + 5}
            return AIMessage(content="", tool_calls=[call], usage_metadata=usage,
                             response_metadata={**meta, "finish_reason": "tool_calls"})
        text = f"Hello! You said: {_text(last) if last is not None else ''}".strip()
        for s in stop or ():
            if s and s in text:
                text = text[: text.index(s)]
        n_out = len(text.split()) or 1
        return AIMessage(content=text, usage_metadata={"input_tokens": n_in, "output_tokens": n_out,
                                                       "total_tokens": n_in + n_out}, response_metadata=meta)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, stop, kwargs))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, stop, kwargs)
        if reply.tool_calls:
            calls = [{"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                     for i, c in enumerate(reply.tool_calls)]
            yield ChatGenerationChunk(message=AIMessageChunk(
                content="", tool_call_chunks=calls, usage_metadata=reply.usage_metadata,
                response_metadata=reply.response_metadata, chunk_position="last"))
            return
        words = re.findall(r"\S+\s*", str(reply.content)) or [""]
        for i, word in enumerate(words):
            last = i == len(words) - 1
            chunk = AIMessageChunk(
                content=word,
                usage_metadata=reply.usage_metadata if last else None,
                response_metadata=reply.response_metadata if last else {},
                chunk_position="last" if last else None,
            )
            if run_manager is not None:
                run_manager.on_llm_new_token(word, chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)
