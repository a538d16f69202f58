"""``oyster chat --model DIR "query"``: answer with a distilled model alone, no graph."""

from __future__ import annotations

import argparse
import sys

from oyster_agents.commands._common import read_query


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``chat``."""
    parser = sub.add_parser("chat", help="answer one query with a (distilled) model alone, without the graph")
    parser.add_argument("query", help="the user's message, or - to read it from standard input")
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="merged model folder, LoRA adapter folder (merged in memory first), or 'default'")
    parser.add_argument("--system", metavar="TEXT", help="system prompt")
    parser.add_argument("--max-tokens", type=int, default=512, metavar="N", help="most new tokens (default 512)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 (default) decodes greedily")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--show-reasoning", action="store_true", help="print the <think> reasoning as well as the answer")
    shown.add_argument("--raw", action="store_true", help="print the generated text exactly as it came")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the model with LocalChatModel, answer, print the answer (and the reasoning on request)."""
    import tempfile
    from pathlib import Path

    from langchain_core.messages import HumanMessage, SystemMessage

    from oyster_agents.backends.local import LocalChatModel
    from oyster_agents.errors import ConfigError, InputError

    query = read_query(args.query)
    if not query.strip():
        raise InputError("the query is empty; pass the user's message as text")
    folder = Path(args.model)
    workspace = None
    if args.model == "default":
        from oyster_agents.backends.default_model import default_model_path

        folder = default_model_path()
    elif (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file():
        from oyster_agents.distill.merge import merge_adapter

        workspace = tempfile.TemporaryDirectory(prefix="oyster-chat-")
        folder = Path(workspace.name) / "merged"
        merge_adapter(args.model, folder)
    elif not (folder / "config.json").is_file():
        raise ConfigError(f"{folder} is neither a model folder (config.json) nor a LoRA adapter (adapter_config.json)")
    try:
        model = LocalChatModel(model_path=str(folder), max_tokens=args.max_tokens, temperature=args.temperature)
        messages = ([SystemMessage(content=args.system)] if args.system else []) + [HumanMessage(content=query)]
        reply = model.invoke(messages)
    finally:
        if workspace is not None:
            workspace.cleanup()
    text = reply.text
    if args.raw:
        print(text)
        return 0
    reasoning, answer, closed = split_thinking(text)
    if args.show_reasoning and reasoning:
        print(f"<think>\n{reasoning}\n</think>\n")
    if not closed:
        print("oyster chat: the reasoning did not finish within --max-tokens; showing it as the answer", file=sys.stderr)
    print(answer)
    return 0


def split_thinking(text: str) -> tuple[str, str, bool]:
    """``(reasoning, answer, finished)`` of ``<think>…</think>answer``; unfinished reasoning becomes the answer."""
    start, end = text.find("<think>"), text.find("</think>")
    if end >= 0:
        reasoning = text[start + len("<think>") if start >= 0 else 0 : end]
        return reasoning.strip(), text[end + len("</think>"):].strip(), True
    if start >= 0:
        return "", text[start + len("<think>"):].strip(), False
    return "", text.strip(), True
