"""The constructive-safety graph. ``graph_builder`` returns it uncompiled, ``build_graph`` compiled.

    prepare ─┬→ assess_risk → propose_strategy ×K → simulate_user ×(K×3) → solve_game ─┐
             └→ answer_unguided ─→ extract_chain (after assess_risk too) ───────────────┴→ critique
    critique → (judge_safety ∥ judge_satisfaction ∥ react_to_answer ×3) → score_iterate
    score_iterate → respond (after the unguided iterate 0) | revise → respond → critique | finalize

With ``loop.initial: guided`` there is no unguided iterate: solve_game → respond → critique.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.constants import TAG_NOSTREAM
from langgraph.graph import END, START, StateGraph
from langgraph.types import Overwrite

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.config import OysterConfig, Role
from oyster_agents.errors import ConfigError, InputError
from oyster_agents.graphs._fan_out import fan_out_reactions, fan_out_simulations, strategy_fan_out
from oyster_agents.graphs._finalize import make_finalizer
from oyster_agents.graphs._hooks import node_hooks
from oyster_agents.graphs._join_checkpoints import freeze_join_checkpoints
from oyster_agents.graphs._names import (  # noqa: F401  (node names are part of this module's API)
    ANSWER_UNGUIDED,
    ASSESS,
    COLLECT,
    CRITIQUE,
    EXTRACT,
    FINALIZE,
    JUDGE_SAFETY,
    JUDGE_SATISFACTION,
    NODE_ROLES,
    PREPARE,
    PROPOSE,
    REACT,
    RESPOND,
    REVISE,
    SCORE,
    SIMULATE,
    SOLVE,
)
from oyster_agents.graphs._wrap import add_node
from oyster_agents.graphs.lingo_bp import make_scorer, route_after_score
from oyster_agents.graphs.review import REVIEW, ReviewRule, is_high_risk, make_review_node
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
from oyster_agents.schemas import ChatTurn
from oyster_agents.schemas import query as _query
from oyster_agents.state import OysterInput, OysterOutput, OysterState
from oyster_agents.taxonomy import Taxonomy, load_taxonomy
from oyster_agents.telemetry import instrument_graph


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
    freeze_join_checkpoints()  # resumable after a kill with durability="async" (graphs/_join_checkpoints.py)
    taxonomy = taxonomy or load_taxonomy(config.policy_path)
    runtimes = _runtimes(config, models)
    for runtime in runtimes.values():
        runtime.wrappers = [hide_from_messages_stream, *(wrappers or [])]

    def prepare(state: dict[str, Any]) -> dict[str, Any]:
        messages = state.get("messages") or []
        # A chat UI sends messages, not a query: an unanswered user message is this run's query
        # (the query channel may still hold an earlier turn's on a checkpointed thread).
        from_messages = bool(messages) and messages[-1].type == "human"
        asked = messages[-1].text if from_messages else state.get("query")
        query = _query.validate_query(asked, config.loop.max_query_chars)
        keep = config.loop.max_history_turns
        history = state.get("history") or []
        if isinstance(history, (list, tuple)):
            history = list(history)[-keep:] if keep else []
        history = _query.validate_history(history, config.loop.max_query_chars)
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

    def collect_candidates(state: dict[str, Any]) -> dict[str, Any]:
        return {}

    def critique(state: dict[str, Any]) -> dict[str, Any]:
        return {}

    graph = StateGraph(OysterState, input_schema=OysterInput, output_schema=OysterOutput)
    # Each node runs inside its hooks (graphs/_hooks.py): tracing spans, progress events, the deadline.
    hooks = node_hooks(config, runtimes.values())

    def node(name: str, action: Any) -> None:
        add_node(graph, name, action, hooks(name))

    node(PREPARE, prepare)
    node(ASSESS, make_risk_assessor(runtimes[Role.RISK_ASSESSOR.value], taxonomy))
    node(PROPOSE, make_strategist(runtimes[Role.STRATEGIST.value], taxonomy))
    node(COLLECT, collect_candidates)
    node(SIMULATE, make_user_simulator(runtimes[Role.USER_SIMULATOR.value]))
    node(SOLVE, make_game_solver(config.game))
    node(RESPOND, make_responder(runtimes[Role.RESPONDER.value]))
    node(CRITIQUE, critique)
    node(JUDGE_SAFETY, make_safety_critic(runtimes[Role.SAFETY_CRITIC.value], taxonomy))
    node(JUDGE_SATISFACTION, make_satisfaction_critic(runtimes[Role.SATISFACTION_CRITIC.value]))
    node(REACT, make_answer_simulator(runtimes[Role.USER_SIMULATOR.value]))
    node(SCORE, make_scorer(config.game, config.loop))
    node(REVISE, make_reviser(runtimes[Role.REVISER.value]))
    node(FINALIZE, make_finalizer(config))

    graph.add_edge(START, PREPARE)
    graph.add_edge(PREPARE, ASSESS)
    graph.add_conditional_edges(ASSESS, strategy_fan_out(config.loop.candidates), [PROPOSE])
    graph.add_edge(PROPOSE, COLLECT)
    graph.add_conditional_edges(COLLECT, fan_out_simulations, [SIMULATE])
    graph.add_edge(SIMULATE, SOLVE)
    if config.loop.initial == "unguided":
        # Iterate 0: the model's own answer, written while the risk is assessed; its chain is
        # extracted once both are there; it is judged once the game has chosen a strategy.
        node(ANSWER_UNGUIDED, make_unguided_responder(runtimes[Role.RESPONDER.value]))
        node(EXTRACT, make_chain_extractor(runtimes[Role.REVISER.value]))
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
        node(REVIEW, make_review_node(is_high_risk if approve_high_risk is True else approve_high_risk))
        graph.add_edge(REVIEW, FINALIZE)
        after_loop = REVIEW
    graph.add_conditional_edges(SCORE, route_after_score, {REVISE: REVISE, RESPOND: RESPOND, "finalize": after_loop})
    graph.add_edge(REVISE, RESPOND)
    graph.add_edge(FINALIZE, END)
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


_MOVED = ("clean_text", "validate_history", "validate_query")


def __getattr__(name: str) -> Any:
    # Deprecated aliases, kept for one release: the query checks live in the schema layer now.
    if name in _MOVED:
        warnings.warn(f"oyster_agents.graphs.constructive.{name} moved to oyster_agents.schemas.query.{name}",
                      DeprecationWarning, stacklevel=2)
        return getattr(_query, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
