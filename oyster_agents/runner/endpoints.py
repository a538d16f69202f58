"""Several inference endpoints behind one configuration, and a check that they answer before a run.

A role's ``base_url`` may list several URLs (replicas serving the same models). Endpoint ``j`` of a
configuration gives every ``openai`` role its ``j``-th URL (cycling through shorter lists), so a
batch can spread its queries, or its Ray workers, round-robin over the replicas.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from oyster_agents.backends.openai_compat import list_served_models, split_base_urls
from oyster_agents.config import OysterConfig, Role
from oyster_agents.errors import BackendError
from oyster_agents.redact import credentials, redact, safe_url


def endpoint_count(config: OysterConfig) -> int:
    """How many endpoint variants the configuration lists (1 when no role lists several URLs)."""
    counts = [len(split_base_urls(cfg.base_url)) for cfg in config.roles.values() if cfg.backend == "openai" and cfg.base_url]
    return max(counts, default=1) or 1


def config_for_endpoint(config: OysterConfig, index: int) -> OysterConfig:
    """A copy of ``config`` where each ``openai`` role uses only its ``index``-th URL (round-robin)."""
    roles = {}
    for name, cfg in config.roles.items():
        urls = split_base_urls(cfg.base_url) if cfg.backend == "openai" and cfg.base_url else []
        roles[name] = cfg.model_copy(update={"base_url": urls[index % len(urls)]}) if urls else cfg
    return config.model_copy(update={"roles": roles})


def check_endpoints(
    config: OysterConfig, *, notify: Callable[[str], None] | None = None, wait_s: float | None = None
) -> None:
    """Make sure every ``openai`` endpoint answers, retrying with backoff, before queries are spent on it.

    A configured model that the server does not list (a mistyped LoRA adapter name, say) is
    reported through ``notify`` but does not stop the run: some servers list nothing.

    Args:
        config: the configuration to check.
        notify: receives warnings.
        wait_s: keep retrying this long (e.g. while ``vllm serve`` loads); defaults to the
            role's retry budget (``max_retries`` with exponential backoff).

    Raises:
        BackendError: an endpoint did not answer; the message names role, URL and cause.
    """
    seen: dict[str, list[str] | None] = {}
    warned: set[tuple[str, str]] = set()
    for role in Role:
        cfg = config.role(role)
        if cfg.backend != "openai" or not cfg.base_url:
            continue
        api_key = cfg.api_key.get_secret_value() if cfg.api_key else None
        for url in split_base_urls(cfg.base_url):
            if url not in seen:
                seen[url] = _probe(url, api_key, role.value, cfg.model, cfg.max_retries, cfg.timeout_s, wait_s)
            served = seen[url]
            if served and cfg.model not in served and (url, cfg.model) not in warned and notify is not None:
                warned.add((url, cfg.model))
                notify(
                    f"warning: {safe_url(url)} does not list model {cfg.model!r} (role {role.value}); "
                    f"it serves {served[:8]}"
                )


def _probe(
    url: str, api_key: str | None, role: str, model: str, retries: int, timeout_s: float, wait_s: float | None
) -> list[str] | None:
    import httpx

    deadline = time.monotonic() + wait_s if wait_s is not None else None
    attempts = 0
    delay = 0.5
    while True:
        attempts += 1
        try:
            return list_served_models(url, api_key=api_key, timeout_s=min(timeout_s, 30.0))
        except httpx.HTTPError as exc:
            out_of_time = deadline is not None and time.monotonic() + delay > deadline
            if (deadline is None and attempts > retries) or out_of_time:
                cause = redact(str(exc), credentials(api_key, url))[:300]
                problem = BackendError(
                    f"the server at {safe_url(url)} does not answer ({type(exc).__name__}: {cause}); start it "
                    "(e.g. `vllm serve MODEL --port 8000`) or fix base_url",
                    role=role, model=model, attempts=attempts,
                )
                # Not chained: httpx's error carries the request, whose URL may hold credentials.
                raise problem from None
        time.sleep(delay)
        delay = min(delay * 2, 20.0)
