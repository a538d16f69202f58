"""BatchOptions (one settings model for local and Ray runs) and the worker pool batch and eval share."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from oyster_agents import OysterConfig
from oyster_agents.backends.fake import scripted_models
from oyster_agents.errors import InputError
from oyster_agents.runner import BatchOptions, arun_batch, run_batch, run_batch_ray
from oyster_agents.runner.pool import ProgressBar, loop_executor, worker_threads

CONFIG = OysterConfig(
    roles={"default": {"backend": "fake", "max_retries": 1, "retry_backoff_s": 0.0}},
    loop={"candidates": 2, "max_steps": 1},
)


def _input(tmp_path, lines: list[str]):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return src


def test_keywords_win_over_the_options_object_and_unset_fields_keep_defaults():
    base = BatchOptions(concurrency=3, retry_errors=True)
    merged = BatchOptions.build(base, concurrency=5, progress=True)
    assert (merged.concurrency, merged.retry_errors, merged.progress) == (5, True, True)
    assert merged.max_consecutive_failures == 20 and merged.fsync and merged.check_servers
    assert BatchOptions.build() == BatchOptions()


def test_run_batch_takes_an_options_object_and_keyword_settings_over_it(tmp_path):
    src = _input(tmp_path, [json.dumps({"query": "How do I store bleach safely?", "id": "a"}), "{not json"])
    heard_by_options: list[str] = []
    heard_by_keyword: list[str] = []
    options = BatchOptions(concurrency=2, notify=heard_by_options.append)
    summary = run_batch(src, tmp_path / "out.jsonl", config=CONFIG, models=scripted_models(), options=options,
                        notify=heard_by_keyword.append)
    assert (summary.ok, len(summary.bad_lines)) == (1, 1)
    assert heard_by_options == [] and any(":2: skipped" in m for m in heard_by_keyword)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"concurrency": 0}, "concurrency must be at least 1, got 0"),
        ({"max_consecutive_failures": -1}, "max_consecutive_failures must be 0 or more"),
        ({"server_wait_s": float("nan")}, "server_wait_s must be a finite number"),
        ({"concurrency": "many"}, "concurrency: Input should be a valid integer"),
    ],
)
def test_a_bad_setting_is_an_input_error_before_anything_is_written(tmp_path, settings, problem):
    src, out = _input(tmp_path, [json.dumps({"query": "hi"})]), tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=problem):
        run_batch(src, out, config=CONFIG, models=scripted_models(), **settings)
    with pytest.raises(InputError, match=problem):
        asyncio.run(arun_batch(src, out, config=CONFIG, models=scripted_models(), **settings))
    with pytest.raises(InputError, match=problem):  # checked before Ray is even imported
        run_batch_ray(src, out, config=CONFIG, **settings)
    assert not out.exists()


def test_an_unknown_setting_is_a_type_error_naming_it(tmp_path):
    src, out = _input(tmp_path, [json.dumps({"query": "hi"})]), tmp_path / "out.jsonl"
    with pytest.raises(TypeError, match="concurency"):
        run_batch(src, out, config=CONFIG, models=scripted_models(), concurency=4)
    assert not out.exists()


def test_the_pool_waits_for_its_work_when_left_normally():
    done: list[int] = []
    with worker_threads(2, "test-pool") as pool:
        futures = [pool.submit(lambda i=i: done.append(i)) for i in range(6)]
    assert sorted(done) == list(range(6)) and all(f.done() and not f.cancelled() for f in futures)


def test_the_pool_drops_queued_work_and_returns_at_once_on_an_error():
    release = threading.Event()
    with pytest.raises(RuntimeError, match="stop"):
        with worker_threads(1, "test-pool") as pool:
            running = pool.submit(release.wait, 5)
            queued = [pool.submit(lambda: None) for _ in range(3)]
            raise RuntimeError("stop")
    # Left without waiting: the running call is still blocked, the queued ones never ran.
    assert not running.done() and all(f.cancelled() for f in queued)
    release.set()
    assert running.result(timeout=5) is True


def test_the_loop_executor_sizes_the_default_executor_and_restores_the_old_one():
    async def main() -> tuple[int, str, object, object]:
        loop = asyncio.get_running_loop()
        before = getattr(loop, "_default_executor", None)
        async with loop_executor(7, "test-loop") as executor:
            inside = loop._default_executor
            name = await asyncio.to_thread(lambda: threading.current_thread().name)
        return executor._max_workers, name, inside is executor, loop._default_executor is before

    workers, name, installed, restored = asyncio.run(main())
    assert workers == 7 and name.startswith("test-loop") and installed and restored


def test_the_progress_bar_counts_ok_and_failed(capsys):
    with ProgressBar(5, desc="eval x", unit="item", enabled=True, note="resuming") as bar:
        bar.advance(2, 0)
        bar.advance(0, 1)
    err = capsys.readouterr().err
    assert (bar.ok, bar.failed) == (2, 1)
    assert "resuming" in err and "eval x" in err and "3/5" in err and "ok=2 failed=1" in err
    with ProgressBar(5, desc="quiet", unit="item", enabled=False) as silent:
        silent.advance(1, 1)
    assert (silent.ok, silent.failed) == (1, 1) and capsys.readouterr().err == ""
