"""``oyster serve``: an OpenAI-compatible chat-completions endpoint in front of a guarded model.

Any app that speaks the OpenAI API switches by pointing its base URL here. Benign turns go
straight to the upstream model; risky turns are answered by the constructive-safety graph (the
routing of :class:`~oyster_agents.guard.ConstructiveGuard`).
"""

from oyster_agents.serving.app import ServerSettings, create_app

__all__ = ["ServerSettings", "create_app"]
