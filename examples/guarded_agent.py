"""A small tool-using agent whose chat model is wrapped in ConstructiveGuard.

The agent is a plain LangGraph loop: ``agent`` (the guarded model) → ``tools`` (LangGraph's
``ToolNode``) → ``agent`` … until the model answers without calling a tool. The embedded default
model has no native tool calling, so the model asks for a tool with one text line,
``CALL <tool>: <input>``, which the agent node turns into a regular tool call. With a model that
calls tools natively, use ``guard.bind_tools(tools)`` and LangGraph's prebuilt agent instead.

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

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from oyster_agents import ConstructiveGuard, OysterConfig

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
    match = CALL.search(str(reply.content))
    names = {t.name: t for t in TOOLS}
    if match is None or match.group(1) not in names:
        return reply
    name, argument = match.group(1), match.group(2)
    field = next(iter(names[name].args))
    call = {"name": name, "args": {field: argument}, "id": f"call-{uuid.uuid4().hex[:8]}"}
    return reply.model_copy(update={"tool_calls": [call]})


def build_agent(guard: ConstructiveGuard) -> Any:
    """The agent graph: the guarded model and a tool node, looping until a plain answer."""

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        messages = state["messages"]
        rounds = sum(1 for m in messages if m.type == "tool")
        reply = guard.invoke([SystemMessage(SYSTEM), *messages])
        reply = as_tool_call(reply) if rounds < MAX_TOOL_ROUNDS else reply
        return {"messages": [reply]}

    def next_step(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if getattr(last, "tool_calls", None) else END

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(TOOLS))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", next_step, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile()


def make_guard(args: argparse.Namespace) -> ConstructiveGuard:
    """The guard: the embedded default model for the app and every safety role, or scripted fakes."""
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
        return ConstructiveGuard(model=app, config=config, models=scripted_models({"risk_assessor": [low_risk]}))
    from oyster_agents.backends import make_models

    models = make_models(config)  # one local model, shared by the app and every safety role
    return ConstructiveGuard(model=models["responder"], config=config, models=models)


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
    guard = make_guard(args)
    agent = build_agent(guard)
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
                        print(f"  [tool] {message.content}", file=sys.stderr)
                    elif node == "agent":
                        final = message
                        meta = message.response_metadata.get("oyster", {})
                        a = meta.get("assessment", {})
                        print(f"  [guard] route={meta.get('route')} level={a.get('level')} "
                              f"severity={a.get('severity')} category={a.get('category')}", file=sys.stderr)
    print(final.content if final is not None else "(no answer)")
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
