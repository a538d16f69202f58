"""Graph assembly: the constructive-safety graph and its Lingo-BP loop."""

from oyster_agents.graphs.constructive import build_graph, graph_builder

__all__ = ["build_graph", "graph_builder"]
