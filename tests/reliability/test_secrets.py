"""Secrets: an API key given through the environment never appears anywhere we write.

A marker key (``OYSTER_ROLES__DEFAULT__API_KEY=sk-MARKER...``) is planted, then everything runs
once with telemetry on and content capture on: a run against a server that answers, a batch, the
``oyster run`` and ``oyster batch`` commands (with the console span tree), a server that answers
401 and echoes the Authorization header back in its error, a checkpointed run and a dataset
export. Every surface is searched for the key: config dumps, traces, spans, logs, error messages
and tracebacks, error records, checkpoints and exported datasets.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import traceback
import uuid
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from oyster_agents import OysterConfig, build_graph
from oyster_agents.cli import main
from oyster_agents.errors import BackendError
from oyster_agents.runner import run_batch
from oyster_agents.checkpoints import sqlite_checkpointer
from oyster_agents.telemetry import configure_tracing, disable_tracing
from tests._servers import OpenAICompatServer

pytestmark = pytest.mark.integration

MARKER = "sk-MARKER" + uuid.uuid4().hex
LOOP = {"candidates": 1, "max_steps": 1}
QUERIES = [{"id": "a", "query": "How do I store bleach safely?"}, {"id": "b", "query": "Is vinegar a disinfectant?"}]


def _span_text(exporter: InMemorySpanExporter) -> str:
    spans = []
    for span in exporter.get_finished_spans():
        spans.append({
            "name": span.name, "attributes": dict(span.attributes or {}), "status": span.status.description,
            "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
            "resource": dict(span.resource.attributes),
        })
    return json.dumps(spans, default=str)


def _folder_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory) -> dict[str, str]:
    """Surface name -> everything written there while the marker key was configured."""
    tmp = tmp_path_factory.mktemp("secrets")
    found: dict[str, str] = {}
    log_text = io.StringIO()
    handler = logging.StreamHandler(log_text)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    ok_server = OpenAICompatServer(models=("base-model",)).start()
    echo_server = OpenAICompatServer(models=("base-model",), fail_first=10_000, fail_status=401,
                                     fail_message="Incorrect API key provided: {authorization}").start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("OYSTER_ROLES__DEFAULT__API_KEY", MARKER)
            env.setenv("OYSTER_ROLES__DEFAULT__BACKEND", "openai")
            env.setenv("OYSTER_ROLES__DEFAULT__MODEL", "base-model")
            env.setenv("OYSTER_ROLES__DEFAULT__BASE_URL", ok_server.base_url)
            env.setenv("OYSTER_ROLES__DEFAULT__MAX_RETRIES", "1")
            env.setenv("OYSTER_ROLES__DEFAULT__RETRY_BACKOFF_S", "0.01")
            config = OysterConfig.load(overrides={"loop": LOOP})
            assert config.role("responder").api_key.get_secret_value() == MARKER  # the key is live
            found["config repr, str and dumps"] = "\n".join([
                repr(config), str(config), config.model_dump_json(), json.dumps(config.model_dump(mode="json")),
                json.dumps(config.model_dump(), default=str), repr(config.role("responder")),
            ])

            # Telemetry on, prompts and completions captured.
            configure_tracing("none", capture_content=True, tracer_provider=provider)
            saver = sqlite_checkpointer(tmp / "checkpoints.db")
            out = build_graph(config, checkpointer=saver).invoke(
                {"query": QUERIES[0]["query"]}, {"configurable": {"thread_id": "t"}}
            )
            saver.conn.close()
            found["run trace (JSON)"] = json.dumps({"answer": out["answer"], "trace": out["trace"]})
            found["checkpoint database"] = (tmp / "checkpoints.db").read_bytes().decode("utf-8", "replace")
            summary = run_batch(QUERIES, tmp / "traces.jsonl", config=config, concurrency=2)
            assert summary.ok == 2
            found["batch output"] = (tmp / "traces.jsonl").read_text(encoding="utf-8")

            # A server that rejects the key and repeats it in its error message.
            bad = OysterConfig.load(overrides={"loop": LOOP, "roles": {"default": {"base_url": echo_server.base_url}}})
            with pytest.raises(BackendError) as info:
                build_graph(bad).invoke({"query": "hello"})
            upstream = "".join(traceback.format_exception(info.value.__context__))
            assert MARKER in upstream  # the server really echoed the key: the test can fail
            found["BackendError message"] = str(info.value) + repr(info.value)
            found["BackendError traceback"] = "".join(traceback.format_exception(info.value))
            summary = run_batch(QUERIES, tmp / "errors.jsonl", config=bad, concurrency=2, check_servers=False)
            assert summary.failed == 2
            found["batch error records"] = (tmp / "errors.jsonl").read_text(encoding="utf-8")
            disable_tracing()
            found["spans (content capture on)"] = _span_text(spans)

            # The commands, with the console span tree on stderr.
            for name, argv in {
                "oyster run --json --trace console": ["run", "hello", "--json", "--trace", "console",
                                                      "--max-steps", "1", "--candidates", "1"],
                "oyster run against the echoing server": ["run", "hello", "--base-url", echo_server.base_url,
                                                          "--max-steps", "1", "--candidates", "1"],
                "oyster batch": ["batch", str(_write_queries(tmp)), "--out", str(tmp / "cli.jsonl"),
                                 "--no-progress", "--max-steps", "1", "--candidates", "1"],
            }.items():
                stdout, stderr = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    code = main(argv)
                disable_tracing()
                assert code in (0, 1), (name, code, stderr.getvalue()[-2000:])
                found[f"{name} (stdout, stderr)"] = stdout.getvalue() + stderr.getvalue()
            found["oyster batch (output file)"] = (tmp / "cli.jsonl").read_text(encoding="utf-8")

            # Datasets exported from the traces.
            from oyster_agents.distill import DatasetOptions, export_dataset

            for kind in ("sft", "preference"):
                try:
                    export_dataset(kind, [tmp / "traces.jsonl"], tmp / kind, DatasetOptions(eval_fraction=0.0))
                except Exception as exc:  # no rows may survive the filters; the report is still a surface
                    found[f"{kind} export error"] = str(exc)
                if (tmp / kind).exists():
                    found[f"exported {kind} dataset"] = _folder_text(tmp / kind)
    finally:
        disable_tracing()
        ok_server.stop()
        echo_server.stop()
        root.removeHandler(handler)
        root.setLevel(old_level)
    found["logs (all loggers, DEBUG)"] = log_text.getvalue()
    return found


def _write_queries(tmp: Path) -> Path:
    path = tmp / "queries.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUERIES), encoding="utf-8")
    return path


SURFACES = [
    "config repr, str and dumps", "run trace (JSON)", "checkpoint database", "batch output",
    "BackendError message", "BackendError traceback", "batch error records", "spans (content capture on)",
    "oyster run --json --trace console (stdout, stderr)", "oyster run against the echoing server (stdout, stderr)",
    "oyster batch (stdout, stderr)", "oyster batch (output file)", "exported sft dataset", "logs (all loggers, DEBUG)",
]


@pytest.mark.parametrize("surface", SURFACES)
def test_the_key_appears_on_no_surface(surface, surfaces, ledger):
    text = surfaces[surface]
    leaks = text.count(MARKER) + text.count(MARKER[len("sk-"):])
    ledger.record("secrets", surface, leaks=leaks, chars_searched=len(text))
    assert text, f"{surface}: nothing was written, so nothing was checked"
    assert leaks == 0


def test_the_echoing_server_run_names_the_failure_without_the_key(surfaces):
    text = surfaces["oyster run against the echoing server (stdout, stderr)"]
    # The first calls, made side by side, are the risk assessor's and the unguided answer's: the
    # error names whichever failed first, with its model and attempts.
    assert "401" in text and "[REDACTED]" in text
    assert re.search(r"\(role=(risk_assessor|responder), model=base-model, attempts=1\)", text), text


def test_trace_config_holds_game_and_loop_only(surfaces):
    trace = json.loads(surfaces["run trace (JSON)"])["trace"]
    assert set(trace["config"]) == {"game", "loop"}


# ---- a key in every place a key can be given: file, environment, flag (--set) and URL --------------------
FILE_KEY = "sk-FILEKEY" + uuid.uuid4().hex
ENV_KEY = "sk-ENVKEY" + uuid.uuid4().hex
FLAG_KEY = "sk-FLAGKEY" + uuid.uuid4().hex
URL_KEY = "urlKEY" + uuid.uuid4().hex
EVERY_KEY = (FILE_KEY, ENV_KEY, FLAG_KEY, URL_KEY)


@pytest.fixture(scope="module")
def every_place(tmp_path_factory) -> dict[str, str]:
    """Surface -> text written while keys came from a file, the environment, ``--set`` and a URL."""
    tmp = tmp_path_factory.mktemp("every-place")
    found: dict[str, str] = {}
    server = OpenAICompatServer(models=("base-model",)).start()
    echo = OpenAICompatServer(models=("base-model",), fail_first=10_000, fail_status=401,
                              fail_message="Incorrect API key provided: {authorization}").start()
    log_text = io.StringIO()
    handler = logging.StreamHandler(log_text)
    root = logging.getLogger()
    root.addHandler(handler)
    url = server.base_url.replace("http://", f"http://user:{URL_KEY}@")
    config_file = tmp / "oyster.yaml"
    config_file.write_text(
        "roles:\n  default:\n    backend: openai\n    model: base-model\n"
        f"    base_url: {url}\n    api_key: {FILE_KEY}\n    max_retries: 0\n"
        "  safety_critic:\n    backend: openai\n    model: base-model\n"
        f"    base_url: {url}\n    max_retries: 0\n"
        "loop:\n  candidates: 1\n  max_steps: 1\n", encoding="utf-8")
    common = ["--config", str(config_file), "--set", f"roles.safety_critic.api_key={FLAG_KEY}"]
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("OYSTER_ROLES__REVISER__API_KEY", ENV_KEY)
            env.setenv("OYSTER_ROLES__REVISER__BASE_URL", url)
            env.setenv("OYSTER_ROLES__REVISER__MODEL", "base-model")
            env.setenv("OYSTER_ROLES__REVISER__BACKEND", "openai")
            queries = _write_queries(tmp)
            runs = {
                "run --json --trace console": ["run", "hello", "--json", "--trace", "console", *common],
                "batch": ["batch", str(queries), "--out", str(tmp / "traces.jsonl"), "--no-progress", *common],
                "run against a server that echoes keys": ["run", "hello", *common, "--set",
                                                          "roles.default.base_url=" + echo.base_url.replace(
                                                              "http://", f"http://user:{URL_KEY}@")],
                "batch against an endpoint that does not answer": [
                    "batch", str(queries), "--out", str(tmp / "refused.jsonl"), "--no-progress", *common,
                    "--set", f"roles.default.base_url=http://user:{URL_KEY}@127.0.0.1:9/v1"],
                "config error": ["run", "hello", *common, "--set", "loop.max_steps=many",
                                 "--set", "roles.default.backend=openai", "--set", "roles.default.base_url="],
                "export": ["export", "sft", str(tmp / "traces.jsonl"), "--out", str(tmp / "dataset"),
                           "--min-safety", "0"],
            }
            for name, argv in runs.items():
                stdout, stderr = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    code = main(argv)
                disable_tracing()
                found[f"oyster {name} (exit {code})"] = stdout.getvalue() + stderr.getvalue()
            found["batch output"] = (tmp / "traces.jsonl").read_text(encoding="utf-8")
            found["exported dataset"] = _folder_text(tmp / "dataset") if (tmp / "dataset").exists() else ""
            config = OysterConfig.load(config_file, overrides={"roles": {"safety_critic": {"api_key": FLAG_KEY}}})
            assert config.role("reviser").api_key.get_secret_value() == ENV_KEY  # every key is live
            assert config.role("safety_critic").api_key.get_secret_value() == FLAG_KEY
            found["config repr and dumps"] = repr(config) + config.model_dump_json() + str(config.model_dump())
    finally:
        disable_tracing()
        server.stop()
        echo.stop()
        root.removeHandler(handler)
    found["logs"] = log_text.getvalue()
    return found


def test_keys_from_file_env_flag_and_url_appear_nowhere(every_place, ledger):
    assert any("exit 0" in name and "batch" in name for name in every_place)  # the commands really ran
    assert every_place["batch output"].count("\n") == len(QUERIES)
    for surface, text in every_place.items():
        leaks = sum(text.count(key) for key in EVERY_KEY)
        ledger.record("secrets", f"every place: {surface}", leaks=leaks, chars_searched=len(text))
        assert leaks == 0, (surface, text[-1500:])
