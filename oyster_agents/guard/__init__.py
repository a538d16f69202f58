"""ConstructiveGuard: constructive safety around the chat model an app already has.

Every turn is risk-assessed first (one structured call of the risk assessor). Low-risk turns go
straight to the app's model, unchanged: its tools, streaming and usage metadata pass through.
Risky turns are answered by the constructive-safety graph, with the conversation's earlier turns
as history. The guard is itself a LangChain chat model, so it drops into chains and agents
(``invoke``, ``ainvoke``, ``stream``, ``astream``, ``batch``, ``bind_tools``).

Each returned message carries ``response_metadata["oyster"]``: the route taken (``"direct"`` or
``"constructive"``), the assessment summary and, for the graph route, the run id, a summary of
the trace and (with ``include_trace=True``) the trace itself.

Inside: ``_model`` (the chat-model interface), ``_routing`` (route rule, decisions and their
cache), ``_wiring`` (the lazily built assessor and graph), ``_messages`` (conversation to turn,
replies to messages and chunks), ``_steps`` (the logic written once, run sync or async).
"""

# Turn, split_turn, text_of, to_chat_turn and trace_summary stay importable from here, as before the split.
from oyster_agents.guard._messages import Turn, split_turn, text_of, to_chat_turn  # noqa: F401
from oyster_agents.guard._model import ConstructiveGuard
from oyster_agents.guard._routing import CONSTRUCTIVE, DIRECT, METADATA_KEY, Decision, RouteRule
from oyster_agents.guard._wiring import trace_summary  # noqa: F401

__all__ = ["CONSTRUCTIVE", "DIRECT", "METADATA_KEY", "ConstructiveGuard", "Decision", "RouteRule"]
