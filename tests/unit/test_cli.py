"""The ``oyster`` CLI: argument handling, input validation and exit codes (scripted models)."""

from __future__ import annotations

import io
import json

import pytest

from oyster_agents import cli
from oyster_agents.backends.fake import scripted_models


@pytest.fixture
def fake_backend(monkeypatch):
    """Make the CLI build scripted models instead of loading a real one."""
    import oyster_agents.backends as backends

    monkeypatch.setattr(backends, "make_models", lambda config: scripted_models())


def test_help_lists_run(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "run" in capsys.readouterr().out


def test_run_prints_answer_and_json_trace(fake_backend, capsys):
    assert cli.main(["run", "Is it safe to rub a child with alcohol?", "--max-steps", "1", "--candidates", "2"]) == 0
    assert capsys.readouterr().out.strip()
    assert cli.main(["run", "Is it safe?", "--json", "--max-steps", "1", "--candidates", "2"]) == 0
    trace = json.loads(capsys.readouterr().out)
    assert trace["query"] == "Is it safe?" and len(trace["candidates"]) == 2


def test_run_reads_stdin(fake_backend, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("from stdin".encode())))
    assert cli.main(["run", "-", "--json", "--max-steps", "1", "--candidates", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["query"] == "from stdin"


@pytest.mark.parametrize(
    "argv,stdin,needle",
    [
        (["run", ""], None, "empty"),
        (["run", "x" * 40_000], None, "over the limit"),
        (["run", "-"], b"\xff\xfe\xfa bad", "UTF-8"),
        (["run", "hi", "--set", "novalue"], None, "KEY=VALUE"),
        (["run", "hi", "--set", "game.beta=-1"], None, "game.beta"),
    ],
)
def test_bad_input_gives_a_clear_error_and_exit_2(fake_backend, capsys, monkeypatch, argv, stdin, needle):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert cli.main(argv) == 2
    assert needle in capsys.readouterr().err


def test_help_documents_exit_codes_and_log_options(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "130" in out and "runtime failure" in out
    assert "--log-level" in out and "-v" in out and "serve" in out


def test_backend_down_at_run_time_exits_1(monkeypatch, capsys):
    import oyster_agents.backends as backends

    down = scripted_models({"risk_assessor": [ConnectionError("connection refused")]})
    monkeypatch.setattr(backends, "make_models", lambda config: down)
    argv = ["run", "hi", "--max-steps", "1", "--candidates", "1", "--set", "roles.default.max_retries=0"]
    assert cli.main(argv) == 1
    assert "connection refused" in capsys.readouterr().err


def test_usage_error_exits_2_and_interrupt_130(fake_backend, monkeypatch, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["run"])  # the query is missing
    assert done.value.code == 2
    import oyster_agents.graphs.constructive as constructive

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(constructive, "build_graph", interrupted)
    assert cli.main(["run", "hi"]) == 130


@pytest.mark.parametrize("argv,level", [([], "WARNING"), (["-v"], "INFO"), (["-vv"], "DEBUG"),
                                        (["--log-level", "error"], "ERROR"), (["-v", "--log-level", "debug"], "DEBUG")])
def test_verbosity_sets_the_standard_logging_level(fake_backend, monkeypatch, argv, level):
    import logging

    monkeypatch.setattr(logging.getLogger("oyster_agents"), "level", logging.NOTSET)
    assert cli.main([*argv, "run", "hi", "--max-steps", "1", "--candidates", "1"]) == 0
    assert logging.getLevelName(logging.getLogger("oyster_agents").level) == level


def test_bad_log_level_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--log-level", "loud", "run", "hi"])
    assert done.value.code == 2
