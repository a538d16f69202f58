"""``oyster serve``: the OpenAI-compatible endpoint, driven by the real ``openai`` client and ``ChatOpenAI``."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest
import uvicorn

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import ScriptedChatModel, scripted_models
from oyster_agents.guard import ConstructiveGuard
from oyster_agents.serving import ServerSettings, create_app

from . import _scripts as s
from .test_guard import APP_REPLY, HIGH, LOW, SAFE_ANSWER

KEY = "sk-test-7f3a9c1e55d2"


def make_guard(assessment: str, app=None) -> tuple[ConstructiveGuard, dict]:
    models = scripted_models({"risk_assessor": [assessment], "responder": [f"<think>plan</think>{SAFE_ANSWER}"]})
    config = OysterConfig(roles={"default": {"backend": "fake"}}, loop={"candidates": 2, "max_steps": 1})
    app = app or ScriptedChatModel(role="app", script=[APP_REPLY])
    return ConstructiveGuard(model=app, config=config, models=models), models


@contextmanager
def serving(guard, **settings) -> Iterator[tuple[str, uvicorn.Server]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(guard, ServerSettings(**settings)), host="127.0.0.1",
                                           port=port, log_config=None, timeout_graceful_shutdown=30))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(30)


def client(base: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=30)


def test_benign_turn_passes_through_and_risky_turn_is_answered_by_the_graph(tmp_path):
    guard, models = make_guard(LOW)
    with serving(guard, trace_file=tmp_path / "traces.jsonl") as (base, _):
        raw = client(base).chat.completions.with_raw_response.create(
            model="oyster", messages=[{"role": "user", "content": "What is the capital of France?"}])
        reply = raw.parse()
        assert reply.choices[0].message.content == APP_REPLY
        assert reply.choices[0].finish_reason == "stop"
        assert raw.headers["x-oyster-route"] == "direct"
        assert raw.headers["x-oyster-trace-id"].startswith("guard-")
        assert reply.usage.completion_tokens > 0
        assert not models["responder"].calls
    assert not (tmp_path / "traces.jsonl").exists()  # only graph answers leave a trace

    guard, models = make_guard(HIGH)
    with serving(guard, trace_file=tmp_path / "traces.jsonl") as (base, _):
        raw = client(base).chat.completions.with_raw_response.create(
            model="oyster", messages=[{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "Should I rub my feverish toddler with alcohol?"}])
        reply = raw.parse()
    assert reply.choices[0].message.content == SAFE_ANSWER
    assert raw.headers["x-oyster-route"] == "constructive"
    assert reply.model_extra["oyster"]["assessment"]["level"] == "R1"
    traces = [json.loads(line) for line in (tmp_path / "traces.jsonl").read_text().splitlines()]
    assert [t["id"] for t in traces] == [raw.headers["x-oyster-trace-id"]]
    assert traces[0]["answer"] == SAFE_ANSWER and traces[0]["history"][0]["content"] == "Be brief."


@pytest.mark.parametrize("level", ["low", "high"])
def test_streamed_completion_through_the_openai_client(level):
    guard, _ = make_guard(LOW if level == "low" else HIGH)
    with serving(guard) as (base, _):
        stream = client(base).chat.completions.create(
            model="oyster", stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "Should I rub my feverish toddler with alcohol?"}])
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == (APP_REPLY if level == "low" else SAFE_ANSWER)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    route = [c.model_extra["oyster"]["route"] for c in chunks if c.model_extra.get("oyster")]
    assert route == ["direct" if level == "low" else "constructive"]


def test_models_and_health():
    guard, _ = make_guard(LOW)
    with serving(guard, model_name="guarded-smol") as (base, _):
        assert [m.id for m in client(base).models.list()] == ["guarded-smol"]
        assert httpx.get(f"{base}/health").json()["status"] == "ok"


def test_bad_requests_get_openai_shaped_4xx():
    guard, models = make_guard(LOW)
    with serving(guard, max_body_bytes=2000) as (base, _):
        url = f"{base}/v1/chat/completions"
        cases = {
            "bad json": httpx.post(url, content=b"{not json", headers={"content-type": "application/json"}),
            "no messages": httpx.post(url, json={"model": "oyster"}),
            "empty messages": httpx.post(url, json={"model": "oyster", "messages": []}),
            "bad role": httpx.post(url, json={"messages": [{"role": "wizard", "content": "hi"}]}),
            "empty query": httpx.post(url, json={"messages": [{"role": "user", "content": "   "}]}),
            "too big": httpx.post(url, json={"messages": [{"role": "user", "content": "x" * 5000}]}),
        }
        with pytest.raises(openai.BadRequestError) as caught:
            client(base).chat.completions.create(model="oyster", messages=[])
    assert caught.value.status_code == 400
    for name, response in cases.items():
        expected = 413 if name == "too big" else 400
        assert response.status_code == expected, name
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error", name
        assert error["message"], name
    assert cases["no messages"].json()["error"]["param"] == "messages"
    assert not models["risk_assessor"].calls  # nothing invalid reached a model


def test_upstream_failure_is_a_5xx_without_internals(caplog):
    secret = "http://admin:hunter2@10.0.0.7:8000/v1"
    app = ScriptedChatModel(role="app", script=[ConnectionError(f"cannot reach {secret}")])
    guard, _ = make_guard(LOW, app)
    with caplog.at_level(logging.ERROR, logger="oyster_agents.serving"), serving(guard) as (base, _):
        url = f"{base}/v1/chat/completions"
        body = {"messages": [{"role": "user", "content": "hi"}]}
        plain = httpx.post(url, json=body)
        streamed = httpx.post(url, json={**body, "stream": True})
    for response in (plain, streamed):
        assert response.status_code == 500
        assert response.json()["error"]["type"] == "server_error"
        assert "hunter2" not in response.text and "Traceback" not in response.text
        assert "ConnectionError" not in response.text
    assert "ConnectionError" in caplog.text  # the cause is in the server's log


def test_bearer_keys_checked_and_never_logged_or_traced(caplog, tmp_path):
    from oyster_agents.telemetry import disable_tracing

    from .test_telemetry import Traced

    guard, _ = make_guard(HIGH)
    spans = Traced(capture_content=True)
    with caplog.at_level(logging.DEBUG), serving(guard, api_keys=(KEY, "sk-other"),
                                                 trace_file=tmp_path / "t.jsonl") as (base, _):
        messages = [{"role": "user", "content": "Should I rub my feverish toddler with alcohol?"}]
        for wrong in ("sk-wrong", KEY[:-1]):
            with pytest.raises(openai.AuthenticationError) as caught:
                client(base, wrong).chat.completions.create(model="oyster", messages=messages)
            assert caught.value.status_code == 401
        assert httpx.post(f"{base}/v1/chat/completions", json={"messages": messages}).status_code == 401
        assert httpx.get(f"{base}/v1/models").status_code == 401
        assert httpx.get(f"{base}/health").status_code == 200
        reply = client(base, KEY).chat.completions.create(model="oyster", messages=messages)
        assert reply.choices[0].message.content == SAFE_ANSWER
    disable_tracing()
    assert KEY not in caplog.text and KEY[:-1] not in caplog.text
    assert KEY[:-1] not in (tmp_path / "t.jsonl").read_text()
    finished = spans.spans.get_finished_spans()
    assert any(s.name == "invoke_agent constructive_guard" for s in finished)
    for span in finished:
        values = [*span.attributes.values(), *(v for e in span.events for v in e.attributes.values())]
        assert not any(KEY[:-1] in str(v) for v in values), span.name


def blocking_app(release: threading.Event, started: threading.Event) -> ScriptedChatModel:
    def answer(messages, schema):
        started.set()
        release.wait(20)
        return APP_REPLY

    return ScriptedChatModel(role="app", script=[answer])


def test_concurrency_limit_answers_429():
    release, started = threading.Event(), threading.Event()
    guard, _ = make_guard(LOW, blocking_app(release, started))
    results = []
    with serving(guard, max_concurrency=1) as (base, _):
        body = {"messages": [{"role": "user", "content": "hi"}]}
        first = threading.Thread(target=lambda: results.append(httpx.post(f"{base}/v1/chat/completions", json=body,
                                                                          timeout=30)))
        first.start()
        assert started.wait(20)
        with pytest.raises(openai.RateLimitError) as caught:
            client(base).chat.completions.create(model="oyster", messages=body["messages"])
        assert caught.value.status_code == 429
        release.set()
        first.join(30)
        assert results[0].status_code == 200
        again = client(base).chat.completions.create(model="oyster", messages=body["messages"])  # a slot is free again
        assert again.choices[0].message.content == APP_REPLY
        for _ in range(2):  # a finished stream gives its slot back too
            chunks = list(client(base).chat.completions.create(model="oyster", messages=body["messages"], stream=True))
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == APP_REPLY


def test_shutdown_mid_request_finishes_it():
    release, started = threading.Event(), threading.Event()
    guard, _ = make_guard(LOW, blocking_app(release, started))
    results = []
    with serving(guard) as (base, server):
        body = {"messages": [{"role": "user", "content": "hi"}]}
        worker = threading.Thread(target=lambda: results.append(httpx.post(f"{base}/v1/chat/completions", json=body,
                                                                           timeout=30)))
        worker.start()
        assert started.wait(20)
        server.should_exit = True  # what SIGTERM does
        time.sleep(0.5)
        release.set()
        worker.join(30)
    assert results and results[0].status_code == 200
    assert results[0].json()["choices"][0]["message"]["content"] == APP_REPLY


def test_chat_openai_pointed_at_the_server():
    from langchain_openai import ChatOpenAI

    guard, _ = make_guard(HIGH)
    with serving(guard) as (base, _):
        llm = ChatOpenAI(base_url=f"{base}/v1", api_key="unused", model="oyster", max_retries=0)
        reply = llm.invoke("Should I rub my feverish toddler with alcohol?")
        streamed = "".join(str(c.content) for c in llm.stream("Should I rub my feverish toddler with alcohol?"))
    assert reply.content == streamed == SAFE_ANSWER
    assert reply.response_metadata["model_name"] == "oyster"


def test_the_serve_command_wires_config_keys_rule_and_limits(monkeypatch, tmp_path, capsys):
    import oyster_agents.backends as backends
    from starlette.testclient import TestClient

    from oyster_agents import cli

    monkeypatch.setattr(backends, "make_models", lambda config: scripted_models({"risk_assessor": [HIGH]}))
    started = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: started.update(config=self.config))
    monkeypatch.setenv("OYSTER_API_KEYS", f" {KEY} , sk-other ")
    argv = ["serve", "--port", "8123", "--model-name", "guarded", "--max-level", "R1", "--max-severity", "3",
            "--max-concurrency", "3", "--trace-file", str(tmp_path / "t.jsonl")]
    assert cli.main(argv) == 0
    server = started["config"]
    assert server.port == 8123 and server.host == "127.0.0.1" and server.timeout_graceful_shutdown == 60
    client = TestClient(server.app)
    assert client.get("/v1/models").status_code == 401
    headers = {"Authorization": f"Bearer {KEY}"}
    assert client.get("/v1/models", headers=headers).json()["data"][0]["id"] == "guarded"
    reply = client.post("/v1/chat/completions", headers=headers,
                        json={"messages": [{"role": "user", "content": "Should I rub my toddler with alcohol?"}]})
    assert reply.headers["x-oyster-route"] == "direct"  # R1, severity 3 is within the looser rule
    assert cli.main(["serve", "--max-malicious", "2"]) == 2
    assert "--max-malicious" in capsys.readouterr().err
