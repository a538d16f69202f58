"""A small tool-using LangChain agent (``create_agent``) guarded by ConstructiveSafetyMiddleware.

The agent is LangChain v1's ``create_agent`` with two tools and two middlewares: the safety
middleware (outermost) assesses each user turn, and a small text-tool middleware lets the embedded
default model, which has no native tool calling, ask for a tool with one text line,
``CALL <tool>: <input>``, turned into a regular tool call. With a model that calls tools natively,
drop the second middleware.

Low-risk questions go straight to the app's model (and may use the tools); risky ones are answered
by the constructive-safety graph, whose progress is printed as it runs.

Usage:
    python examples/guarded_agent.py "What is 17% of 2,340 dollars?"
    python examples/guarded_agent.py --fake "What is 12 * 7?"      # scripted models, about a second
"""

from __future__ import annotations

import argparse
import ast
import operator
import re
import sys
import time
import uuid
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool

from oyster_agents import OysterConfig
from oyster_agents.middleware import ConstructiveSafetyMiddleware

SYSTEM = (
    "You are a helpful assistant with two tools.\n"
    "- calculator: evaluates arithmetic such as 2340 * 0.17\n"
    "- units: converts a quantity, such as '5 km to miles' or '100 f to c'\n"
    "To use a tool, reply with exactly one line: CALL <tool>: <input>\n"
    "After a tool result, answer the user in plain words."
)
CALL = re.compile(r"^\s*CALL\s+(\w+)\s*:\s*(.+?)\s*$", re.MULTILINE)
MAX_TOOL_ROUNDS = 3

_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow, ast.Mod: operator.mod, ast.USub: operator.neg, ast.UAdd: operator.pos,
}
_UNITS = {  # (from, to) → factor or conversion function
    ("km", "miles"): 0.621371, ("miles", "km"): 1.609344, ("kg", "lb"): 2.204623, ("lb", "kg"): 0.453592,
    ("m", "ft"): 3.280840, ("ft", "m"): 0.3048, ("l", "gal"): 0.264172, ("gal", "l"): 3.785412,
    ("c", "f"): lambda v: v * 9 / 5 + 32, ("f", "c"): lambda v: (v - 32) * 5 / 9,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ValueError("only numbers and + - * / ** % are allowed")


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as '2340 * 0.17'."""
    cleaned = expression.replace(",", "").replace("×", "*").replace("^", "**").strip()
    try:
        value = _evaluate(ast.parse(cleaned, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        return f"calculator error: {exc}"
    return f"{expression.strip()} = {value:g}"


@tool
def units(query: str) -> str:
    """Convert a quantity, e.g. '5 km to miles' or '100 f to c'."""
    match = re.match(r"\s*(-?[\d.]+)\s*(\w+)\s+(?:to|in)\s+(\w+)\s*$", query.lower())
    if not match:
        return "units error: write it as '<number> <unit> to <unit>'"
    value, source, target = float(match.group(1)), match.group(2), match.group(3)
    rule = _UNITS.get((source, target))
    if rule is None:
        return f"units error: cannot convert {source} to {target}"
    result = rule(value) if callable(rule) else value * rule
    return f"{value:g} {source} = {result:.4g} {target}"


TOOLS = [calculator, units]


def as_tool_call(reply: AIMessage) -> AIMessage:
    """Turn a ``CALL tool: input`` line into a regular tool call the ToolNode can run."""
    match = CALL.search(reply.text)
    names = {t.name: t for t in TOOLS}
    if match is None or match.group(1) not in names:
        return reply
    name, argument = match.group(1), match.group(2)
    field = next(iter(names[name].args))
    call = {"name": name, "args": {field: argument}, "id": f"call-{uuid.uuid4().hex[:8]}"}
    return AIMessage(content=reply.content, tool_calls=[call], id=reply.id, usage_metadata=reply.usage_metadata,
                     response_metadata=reply.response_metadata)


class TextToolCalls(AgentMiddleware):
    """Turns a ``CALL tool: input`` line of a model without native tool calling into a tool call."""

    def wrap_model_call(self, request: ModelRequest, handler: Any) -> Any:
        rounds = sum(1 for m in request.messages if m.type == "tool")
        response = handler(request.override(tools=[]))  # the model gets the tools from the system prompt
        if rounds >= MAX_TOOL_ROUNDS:
            return response
        return ModelResponse(result=[as_tool_call(m) if isinstance(m, AIMessage) else m for m in response.result],
                             structured_response=response.structured_response)


def build_agent(app_model: Any, safety: ConstructiveSafetyMiddleware) -> Any:
    """The agent: the app's model, the tools, the safety middleware outermost."""
    return create_agent(app_model, tools=TOOLS, system_prompt=SYSTEM, middleware=[safety, TextToolCalls()])


def make_agent(args: argparse.Namespace) -> Any:
    """The agent on the embedded default model (app and every safety role), or on scripted fakes."""
    config = OysterConfig(
        roles={"default": {"backend": "fake" if args.fake else "hf", "max_tokens": args.max_tokens,
                           "max_reasks": args.max_reasks}},
        loop={"candidates": args.candidates, "max_steps": args.max_steps},
    )
    if args.fake:
        from oyster_agents.backends.fake import ScriptedChatModel, scripted_models

        low_risk = (
            '{"category": "none", "level": "R0", "interaction_form": "inquiry", "aggressive": false, '
            '"severity": 0, "user_type_posterior": {"benign": 0.95, "sensitive": 0.05, "malicious": 0.0}, '
            '"user_need": "Get a calculation done.", "risk_intent": "", '
            '"adapted_guideline": "Answer plainly; no safety concern applies to arithmetic."}'
        )
        app = ScriptedChatModel(role="app", script=["CALL calculator: 12 * 7", "12 × 7 is 84."])
        safety = ConstructiveSafetyMiddleware(config=config, models=scripted_models({"risk_assessor": [low_risk]}))
        return build_agent(app, safety)
    from oyster_agents.backends import make_models

    models = make_models(config)  # one local model, shared by the app and every safety role
    return build_agent(models["responder"], ConstructiveSafetyMiddleware(config=config, models=models))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", help="the user's message")
    parser.add_argument("--fake", action="store_true", help="scripted models: checks the wiring in about a second")
    parser.add_argument("--candidates", type=int, default=2, help="candidate strategies on risky turns (default 2)")
    parser.add_argument("--max-steps", type=int, default=1, help="Lingo-BP steps on risky turns (default 1)")
    parser.add_argument("--max-tokens", type=int, default=128, help="max new tokens per model call (default 128)")
    parser.add_argument("--max-reasks", type=int, default=0,
                        help="re-asks after malformed JSON (default 0: on a CPU the documented fallback beats a slow retry)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    agent = make_agent(args)
    final: AIMessage | None = None
    # subgraphs=True lets the constructive graph's progress events (run inside the agent node) through.
    for _, mode, data in agent.stream(
        {"messages": [HumanMessage(args.question)]},
        {"recursion_limit": 4 * MAX_TOOL_ROUNDS + 4},
        stream_mode=["custom", "updates"],
        subgraphs=True,
    ):
        if mode == "custom" and isinstance(data, dict) and "label" in data:
            print(f"  … {data['label']}", file=sys.stderr)
        elif mode == "updates":
            for node, update in data.items():
                for message in (update or {}).get("messages", []):
                    if node == "tools":
                        print(f"  [tool] {message.text}", file=sys.stderr)
                    elif node == "model":
                        final = message
                        meta = message.response_metadata.get("oyster")
                        if meta:  # on the model's reply to a user message (tool rounds are not assessed)
                            a = meta.get("assessment", {})
                            print(f"  [guard] route={meta.get('route')} level={a.get('level')} "
                                  f"severity={a.get('severity')} category={a.get('category')}", file=sys.stderr)
    print(final.text if final is not None else "(no answer)")
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
