"""The constructive-safety graph. ``graph_builder`` returns it uncompiled, ``build_graph`` compiled.

    prepare ─┬→ assess_risk → propose_strategy ×K → simulate_user ×(K×3) → solve_game ─┐
             └→ answer_unguided ─→ extract_chain (after assess_risk too) ───────────────┴→ critique
    critique → (judge_safety ∥ judge_satisfaction ∥ react_to_answer ×3) → score_iterate
    score_iterate → respond (after the unguided iterate 0) | revise → respond → critique | finalize

With ``loop.initial: guided`` there is no unguided iterate: solve_game → respond → critique.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.constants import TAG_NOSTREAM
from langgraph.graph import END, START, StateGraph
from langgraph.types import Overwrite, Send

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.config import OysterConfig, Role
from oyster_agents.errors import ConfigError, InputError
from oyster_agents.game.selection import select_iterate
from oyster_agents.graphs.lingo_bp import (
    CRITIQUE,
    JUDGE_SAFETY,
    JUDGE_SATISFACTION,
    LOOP_ROLE,
    REACT,
    RESPOND,
    REVISE,
    SCORE,
    make_scorer,
    route_after_score,
)
from oyster_agents.graphs._checkpoint_fix import freeze_join_checkpoints
from oyster_agents.graphs.deadline import add_deadline_guards
from oyster_agents.graphs.progress import add_progress_events
from oyster_agents.graphs.review import REVIEW, ReviewRule, apply_review, is_high_risk, make_review_node
from oyster_agents.nodes import (
    make_answer_simulator,
    make_chain_extractor,
    make_game_solver,
    make_responder,
    make_reviser,
    make_risk_assessor,
    make_safety_critic,
    make_satisfaction_critic,
    make_strategist,
    make_unguided_responder,
    make_user_simulator,
)
from oyster_agents.nodes._common import fallback_data
from oyster_agents.nodes.strategist import kind_for
from oyster_agents.schemas import ChatTurn, Fallback, RunTrace, Usage, UserType
from oyster_agents.state import OysterInput, OysterOutput, OysterState
from oyster_agents.taxonomy import Taxonomy, load_taxonomy
from oyster_agents.telemetry import current_trace_id, instrument_builder, instrument_graph

PREPARE = "prepare"
ASSESS = "assess_risk"
PROPOSE = "propose_strategy"
COLLECT = "collect_candidates"
SIMULATE = "simulate_user"
SOLVE = "solve_game"
ANSWER_UNGUIDED = "answer_unguided"
EXTRACT = "extract_chain"
FINALIZE = "finalize"

NODE_ROLES: dict[str, str] = {
    ASSESS: Role.RISK_ASSESSOR.value,
    PROPOSE: Role.STRATEGIST.value,
    SIMULATE: Role.USER_SIMULATOR.value,
    SOLVE: "game_solver",
    RESPOND: Role.RESPONDER.value,
    ANSWER_UNGUIDED: Role.RESPONDER.value,
    EXTRACT: Role.REVISER.value,
    REACT: Role.USER_SIMULATOR.value,
    JUDGE_SAFETY: Role.SAFETY_CRITIC.value,
    JUDGE_SATISFACTION: Role.SATISFACTION_CRITIC.value,
    REVISE: Role.REVISER.value,
}


# Removed from queries: C0/C1 controls other than tab and newline, lone surrogates, and the bidi
# overrides and BOM that make text display other than it reads.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_BREAK = re.compile("\r\n?|[\u2028\u2029]")


def clean_text(text: str) -> str:
    """Line breaks normalised to ``\\n``; control characters, lone surrogates, bidi overrides and the
    BOM removed. Other text stays as written: ZWJ in emoji, ZWNJ in Persian, no-break spaces."""
    return _HIDDEN.sub("", _LINE_BREAK.sub("\n", text))


def validate_query(query: Any, max_chars: int) -> str:
    """Reject what cannot be a query: non-text, empty or oversized (the documented rule: reject, not
    truncate); clean the rest with :func:`clean_text`."""
    if isinstance(query, bytes):
        try:
            query = query.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("the query is not valid UTF-8 text") from exc
    if not isinstance(query, str):
        raise InputError(f"the query must be text, got {type(query).__name__}")
    cleaned = clean_text(query)
    if not cleaned.strip():
        raise InputError("the query is empty; pass the user's message as text")
    if len(cleaned) > max_chars:
        raise InputError(
            f"the query has {len(cleaned)} characters, over the limit of {max_chars} (loop.max_query_chars)"
        )
    return cleaned


def validate_history(history: Any, max_chars: int) -> list[ChatTurn]:
    """Prior turns checked like the query: a list of ``{role, content}`` objects whose text is cleaned
    with :func:`clean_text`; a turn longer than ``max_chars`` is rejected, not truncated.

    Raises:
        InputError: not a list, a turn that is not a ``{role, content}`` object, or an oversized turn.
    """
    from pydantic import ValidationError

    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise InputError(f"history must be a list of turns [{{role, content}}, ...], got {type(history).__name__}")
    turns = []
    for number, turn in enumerate(history, start=1):
        try:
            parsed = turn if isinstance(turn, ChatTurn) else ChatTurn.model_validate(turn)
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'turn'}: {e['msg']}" for e in exc.errors()[:3])
            raise InputError(f"history turn {number} is not a {{role, content}} object: {problem}") from None
        content = clean_text(parsed.content)
        if len(content) > max_chars:
            raise InputError(
                f"history turn {number} has {len(content)} characters, over the limit of {max_chars} (loop.max_query_chars)"
            )
        turns.append(ChatTurn(role=parsed.role, content=content))
    return turns


def _runtimes(config: OysterConfig, models: Mapping[str, BaseChatModel] | None) -> dict[str, RoleRuntime]:
    if models is None:
        from oyster_agents.backends import make_models

        models = make_models(config)
    runtimes = {}
    for role in Role:
        model = models.get(role.value) or models.get("default")
        if model is None:
            raise ConfigError(f"no model for role '{role.value}': pass models['{role.value}'] or models['default']")
        runtimes[role.value] = RoleRuntime(role=role.value, model=model, config=config.role(role))
    return runtimes


def graph_builder(
    config: OysterConfig | None = None,
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    taxonomy: Taxonomy | None = None,
    wrappers: list[Any] | None = None,
    approve_high_risk: bool | ReviewRule = False,
) -> StateGraph:
    """Assemble the constructive-safety graph without compiling it.

    Args:
        config: the configuration; defaults to ``OysterConfig()`` (embedded local model).
        models: role name (or ``"default"``) → any LangChain chat model; built from config if omitted.
        taxonomy: the policy; defaults to ``config.policy_path`` or the shipped policy.
        wrappers: call wrappers applied to every model call (tracing uses this).
        approve_high_risk: add a ``review`` node that pauses high-risk answers (R2 or severity ≥ 3,
            or your own ``rule(assessment) -> bool``) for a human decision; needs a checkpointer.

    Returns:
        An uncompiled ``StateGraph``; compile it with your own checkpointer.
    """
    config = config or OysterConfig()
    freeze_join_checkpoints()  # resumable after a kill with durability="async" (graphs/_checkpoint_fix.py)
    taxonomy = taxonomy or load_taxonomy(config.policy_path)
    runtimes = _runtimes(config, models)
    for runtime in runtimes.values():
        runtime.wrappers = [hide_from_messages_stream, *(wrappers or [])]
    k = config.loop.candidates

    def prepare(state: dict[str, Any]) -> dict[str, Any]:
        messages = state.get("messages") or []
        # A chat UI sends messages, not a query: an unanswered user message is this run's query
        # (the query channel may still hold an earlier turn's on a checkpointed thread).
        from_messages = bool(messages) and messages[-1].type == "human"
        asked = messages[-1].text if from_messages else state.get("query")
        query = validate_query(asked, config.loop.max_query_chars)
        keep = config.loop.max_history_turns
        history = state.get("history") or []
        if isinstance(history, (list, tuple)):
            history = list(history)[-keep:] if keep else []
        history = validate_history(history, config.loop.max_query_chars)
        for key in ("id", "profile"):
            if state.get(key) is not None and not isinstance(state.get(key), str):
                raise InputError(f"the input's {key!r} must be text, got {type(state.get(key)).__name__}")
        # Reset per-run values so a thread that is reused for a new turn starts clean.
        return {
            "query": query,
            "history": history,
            "started_at": time.time(),
            "profile": state.get("profile"),
            "id": state.get("id"),
            # A checkpointed thread keeps its channels between turns: start this run's lists empty.
            **{key: Overwrite([]) for key in ("candidates", "reactions", "answer_reactions", "iterates", "usage",
                                              "fallbacks")},
            "origin": config.loop.initial,
            "review": None,
            "messages": [] if from_messages else [HumanMessage(content=query)],
        }

    def fan_out_strategies(state: dict[str, Any]) -> list[Send]:
        return [
            Send(PROPOSE, {"query": state["query"], "history": state.get("history", []),
                           "assessment": state["assessment"], "policy_rule": state.get("policy_rule", ""),
                           "index": i, "kind": kind_for(i).value, "started_at": state.get("started_at")})
            for i in range(k)
        ]

    def collect_candidates(state: dict[str, Any]) -> dict[str, Any]:
        return {}

    def fan_out_simulations(state: dict[str, Any]) -> list[Send]:
        return [
            Send(SIMULATE, {"query": state["query"], "history": state.get("history", []), "candidate": cand,
                            "user_type": t.value, "started_at": state.get("started_at")})
            for cand in sorted(state["candidates"], key=lambda c: c.index)
            for t in UserType
        ]

    def critique(state: dict[str, Any]) -> dict[str, Any]:
        return {}

    def fan_out_reactions(state: dict[str, Any]) -> list[Send]:
        # The three follower reactions to the answer just written, concurrent with both critics.
        return [
            Send(REACT, {"query": state["query"], "history": state.get("history", []),
                         "answer": state["draft"].answer, "user_type": t.value,
                         "step": len(state.get("iterates", [])), "iterates": state.get("iterates", []),
                         "started_at": state.get("started_at")})
            for t in UserType
        ]

    def finalize(state: dict[str, Any]) -> dict[str, Any]:
        iterates = state["iterates"]
        selection = select_iterate(iterates)
        best = selection.index
        answer = iterates[best].answer
        fallbacks = list(state.get("fallbacks", []))
        if selection.use_fallback_answer:  # the safety gate: no unsafe answer leaves the graph
            answer = str(fallback_data()["answer"]).strip()
            fallbacks.append(Fallback(role=LOOP_ROLE, kind="all_unsafe", detail=selection.reason))
        started = state.get("started_at") or time.time()
        trace = RunTrace(
            id=state.get("id"),
            query=state["query"],
            history=state.get("history", []),
            profile=state.get("profile"),
            assessment=state["assessment"],
            candidates=state["scored"],
            chosen=state["chosen"],
            boundary_feasible=state.get("boundary_feasible", True),
            iterates=iterates,
            best_iterate=best,
            selection_reason=selection.reason,
            policy_rule_id=state.get("policy_rule_id"),
            policy_rule=state.get("policy_rule", ""),
            boundary_limit=state.get("boundary_limit"),
            answer=answer,
            usage=Usage.from_calls(state.get("usage", []), wall_seconds=time.time() - started),
            fallbacks=fallbacks,
            config={"game": config.game.model_dump(), "loop": config.loop.model_dump()},
            trace_id=current_trace_id(),
        )
        trace = apply_review(trace, state.get("review"))  # a human's decision, if one was asked for
        # Multi-turn memory: the next run on a checkpointed thread starts from this history.
        history = [*trace.history, ChatTurn(role="user", content=trace.query),
                   ChatTurn(role="assistant", content=trace.answer)]
        return {"answer": trace.answer, "trace": trace.model_dump(mode="json"), "history": history,
                "messages": [AIMessage(content=trace.answer, id=f"answer-{trace.id}" if trace.id else None)]}

    graph = StateGraph(OysterState, input_schema=OysterInput, output_schema=OysterOutput)
    graph.add_node(PREPARE, prepare)
    graph.add_node(ASSESS, make_risk_assessor(runtimes[Role.RISK_ASSESSOR.value], taxonomy))
    graph.add_node(PROPOSE, make_strategist(runtimes[Role.STRATEGIST.value], taxonomy))
    graph.add_node(COLLECT, collect_candidates)
    graph.add_node(SIMULATE, make_user_simulator(runtimes[Role.USER_SIMULATOR.value]))
    graph.add_node(SOLVE, make_game_solver(config.game))
    graph.add_node(RESPOND, make_responder(runtimes[Role.RESPONDER.value]))
    graph.add_node(CRITIQUE, critique)
    graph.add_node(JUDGE_SAFETY, make_safety_critic(runtimes[Role.SAFETY_CRITIC.value], taxonomy))
    graph.add_node(JUDGE_SATISFACTION, make_satisfaction_critic(runtimes[Role.SATISFACTION_CRITIC.value]))
    graph.add_node(REACT, make_answer_simulator(runtimes[Role.USER_SIMULATOR.value]))
    graph.add_node(SCORE, make_scorer(config.game, config.loop))
    graph.add_node(REVISE, make_reviser(runtimes[Role.REVISER.value]))
    graph.add_node(FINALIZE, finalize)

    graph.add_edge(START, PREPARE)
    graph.add_edge(PREPARE, ASSESS)
    graph.add_conditional_edges(ASSESS, fan_out_strategies, [PROPOSE])
    graph.add_edge(PROPOSE, COLLECT)
    graph.add_conditional_edges(COLLECT, fan_out_simulations, [SIMULATE])
    graph.add_edge(SIMULATE, SOLVE)
    if config.loop.initial == "unguided":
        # Iterate 0: the model's own answer, written while the risk is assessed; its chain is
        # extracted once both are there; it is judged once the game has chosen a strategy.
        graph.add_node(ANSWER_UNGUIDED, make_unguided_responder(runtimes[Role.RESPONDER.value]))
        graph.add_node(EXTRACT, make_chain_extractor(runtimes[Role.REVISER.value]))
        graph.add_edge(PREPARE, ANSWER_UNGUIDED)
        graph.add_edge([ASSESS, ANSWER_UNGUIDED], EXTRACT)
        graph.add_edge([SOLVE, EXTRACT], CRITIQUE)
    else:
        graph.add_edge(SOLVE, RESPOND)
    graph.add_edge(RESPOND, CRITIQUE)
    graph.add_edge(CRITIQUE, JUDGE_SAFETY)
    graph.add_edge(CRITIQUE, JUDGE_SATISFACTION)
    graph.add_conditional_edges(CRITIQUE, fan_out_reactions, [REACT])
    graph.add_edge([JUDGE_SAFETY, JUDGE_SATISFACTION, REACT], SCORE)
    after_loop = FINALIZE
    if approve_high_risk:  # human review of high-risk answers before they leave (graphs/review.py)
        graph.add_node(REVIEW, make_review_node(is_high_risk if approve_high_risk is True else approve_high_risk))
        graph.add_edge(REVIEW, FINALIZE)
        after_loop = REVIEW
    graph.add_conditional_edges(SCORE, route_after_score, {REVISE: REVISE, RESPOND: RESPOND, "finalize": after_loop})
    graph.add_edge(REVISE, RESPOND)
    graph.add_edge(FINALIZE, END)
    # loop.deadline_s: nodes fail or are skipped once it passes (graphs/deadline.py); no-op without one.
    add_deadline_guards(graph, config.loop.deadline_s, NODE_ROLES,
                        loop_nodes=(REVISE, RESPOND, JUDGE_SAFETY, JUDGE_SATISFACTION, REACT))
    add_progress_events(graph, config.loop.max_steps)  # "assessing risk…" on stream_mode="custom"
    # Tracing hooks: LLM-call and node spans; a no-op unless telemetry.configure_tracing() ran.
    instrument_builder(graph, runtimes.values(), NODE_ROLES,
                       step_nodes=(REVISE, RESPOND, CRITIQUE, JUDGE_SAFETY, JUDGE_SATISFACTION, REACT, SCORE),
                       step_end=SCORE)
    return graph


def hide_from_messages_stream(invoke: Callable[..., Any]) -> Callable[..., Any]:
    """A ``RoleRuntime`` wrapper tagging each model call so it stays out of ``stream_mode="messages"``.

    The agents' JSON, drafts and reasoning are internal; the messages stream shows the ``messages``
    channel instead: the user's message and the final answer (written by ``finalize``). A node's
    own tags do not reach the calls it makes, hence the tag on each call.
    """

    def hidden(runtime: Any, messages: list[Any], kwargs: dict[str, Any]) -> Any:
        return invoke(runtime, messages, {**kwargs, "config": {"tags": [TAG_NOSTREAM]}})

    return hidden


def build_graph(
    config: OysterConfig | None = None,
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    taxonomy: Taxonomy | None = None,
    checkpointer: Any = None,
    wrappers: list[Any] | None = None,
    approve_high_risk: bool | ReviewRule = False,
) -> Any:
    """Build and compile the constructive-safety graph.

    Args:
        config: the configuration (role models, game weights, loop budget).
        models: optional role → chat model mapping (your own models, or test doubles).
        taxonomy: optional policy; defaults to the configured or shipped one.
        checkpointer: optional LangGraph checkpointer (multi-turn memory, resume).
        wrappers: optional call wrappers applied to every model call.
        approve_high_risk: pause high-risk answers for a human (see ``graphs/review.py``);
            needs ``checkpointer``.

    Returns:
        A compiled LangGraph graph: ``invoke``, ``ainvoke``, ``stream`` and ``batch`` take
        ``{"query": ..., "history": [...]}`` and return ``{"answer": ..., "trace": {...},
        "history": [...]}``.

    Example:
        >>> from oyster_agents import OysterConfig, build_graph
        >>> graph = build_graph(OysterConfig())
        >>> out = graph.invoke({"query": "Is it safe to rub a feverish toddler with alcohol?"})
        >>> out["answer"], out["trace"]["best_iterate"]
    """
    if approve_high_risk and not checkpointer:
        raise ConfigError(
            "approve_high_risk pauses runs for a human, which needs a checkpointer: pass "
            "checkpointer=InMemorySaver() or oyster_agents.checkpoints.sqlite_checkpointer('oyster.db')"
        )
    builder = graph_builder(config, models=models, taxonomy=taxonomy, wrappers=wrappers,
                            approve_high_risk=approve_high_risk)
    compiled = builder.compile(checkpointer=checkpointer, name="oyster")
    # Every fan-out branch at once (the default pool has cpu_count + 4 threads), so the local backend's
    # micro-batcher can gather all K×3 simulations into one generation.
    compiled = compiled.with_config(max_concurrency=max(16, 3 * (config or OysterConfig()).loop.candidates + 2))
    return instrument_graph(compiled)  # root span per run


def recursion_limit(config: OysterConfig) -> int:
    """A recursion limit that fits the step budget, with headroom."""
    return 14 + 7 * config.loop.max_steps
