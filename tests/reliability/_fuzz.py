"""The fuzzing harness: one hypothesis strategy and one property check per input surface.

Each surface builds hostile *structure* (deep nesting, YAML aliases, byte-order marks, CRLF, torn and
oversized lines, wrong types, duplicate keys, non-finite numbers, replies that echo the user's JSON),
not only random bytes, and runs the real entry point in this process. The property, everywhere:

- the documented outcome: success, or the surface's documented error (``OysterError`` and its
  subclasses, argparse's exit 2, a per-record problem), never another exception or a traceback;
- no secret in any output: a marker key is planted in the environment (and in URLs and ``--set``
  where a surface takes them) and searched for in every output, error and traceback;
- bounded: no call raises the process's peak memory (max RSS) by more than :data:`MEMORY_BOUND`,
  and every input is answered within a time bound (``scripts/fuzz.py --hang-s``);
- nothing already written is lost: a batch output's earlier records survive, a file given as
  ``export --out`` keeps its bytes.

Used by ``tests/reliability/test_fuzz.py`` (a short run in CI) and ``scripts/fuzz.py`` (the long run).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import tempfile
import resource
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

KEY = "sk-FUZZKEY" + "5ecret" * 4
URL_KEY = "urlpass" + "9" * 12
MEMORY_BOUND = 256 * 2**20
ROOT = Path(__file__).resolve().parents[2]


class FuzzFailure(AssertionError):
    """An input broke the property; the message says how."""


# ---- building blocks ---------------------------------------------------------------------------------
HOSTILE_TEXT = [
    "", " ", "\x00", "\ufeff", "\u2028", "\r\n", "{{ 7*7 }}", "${HOME}", "$(id)", "nan", "NaN", "inf", "-inf",
    "Infinity", "-1", "0", "1e400", "9" * 5000, "'", '"', "\\", "\udc80", "a" * 70_000, "<|im_start|>system",
    "!!python/object:os.system", "&a", "*a", "<<", "~", "null", "true", "0x1F", "1_000", "\u202e", "🦪",
]
KEYS = st.one_of(st.sampled_from(["query", "id", "history", "profile", "role", "content", "roles", "default",
                                  "game", "loop", "api_key", "alpha", "beta", "max_steps", "schema_version",
                                  "iterates", "messages", "verdict", "", "__proto__"]),
                 st.text(max_size=12))
NUMBERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1, 10**30, 1e-300, math.inf, -math.inf, math.nan]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=40), st.sampled_from(HOSTILE_TEXT))


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Nested lists and dicts of hostile scalars."""
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                        max_leaves=max_leaves)


def deep_text(opening: str = "[", closing: str = "]") -> st.SearchStrategy[str]:
    """Text nested between 60 and 3,000 levels deep (around the limit of 64 and past the recursion limit)."""
    depths = st.one_of(st.sampled_from([65, 1000, 3000]), st.integers(60, 3000))
    return depths.map(lambda n: opening * n + closing * n)


def dumps(value: Any) -> str:
    """JSON as a careless writer makes it: ``NaN`` and ``Infinity`` allowed, lone surrogates kept."""
    return json.dumps(value, allow_nan=True)


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@st.composite
def jsonl_bytes(draw: Any, record: st.SearchStrategy[Any]) -> bytes:
    """A JSON Lines file: good and hostile lines, BOM, CRLF, blank, torn, oversized and non-UTF-8 lines."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["record", "record", "value", "deep", "bytes", "huge", "blank", "text"]))
        if kind == "record":
            lines.append(to_bytes(dumps(draw(record))))
        elif kind == "value":
            lines.append(to_bytes(dumps(draw(json_values()))))
        elif kind == "deep":
            lines.append(to_bytes('{"query": ' + draw(deep_text()) + "}"))
        elif kind == "bytes":
            lines.append(draw(st.binary(max_size=40)).replace(b"\n", b""))
        elif kind == "huge":
            lines.append(b'{"query": "' + b"x" * draw(st.integers(5000, 20000)) + b'"}')
        elif kind == "blank":
            lines.append(b"   ")
        else:
            lines.append(to_bytes(draw(st.sampled_from(HOSTILE_TEXT))).replace(b"\n", b" "))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = newline.join(lines) + (newline if lines and draw(st.booleans()) else b"")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if data and draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # torn
    return data


@contextlib.contextmanager
def record_limit(limit: int) -> Iterator[None]:
    """Lower the per-record size limit, so "huge line" inputs stay cheap to generate."""
    from oyster_agents import _safe_load

    old = _safe_load.MAX_RECORD_BYTES
    _safe_load.MAX_RECORD_BYTES = limit
    try:
        yield
    finally:
        _safe_load.MAX_RECORD_BYTES = old


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``OYSTER_*`` variables (the planted key among them) and restore the old environment."""
    old = {k: v for k, v in os.environ.items() if k.startswith("OYSTER_")}
    for name in old:
        del os.environ[name]
    os.environ.update({"OYSTER_ROLES__DEFAULT__API_KEY": KEY, **values})
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("OYSTER_")]:
            del os.environ[name]
        os.environ.update(old)


@dataclass
class Outcome:
    """What one call did: its result or documented error, and everything it printed."""

    value: Any = None
    error: BaseException | None = None
    text: str = ""
    peak_bytes: int = 0


def guarded(fn: Callable[[], Any], *, allowed: tuple[type[BaseException], ...] = (), measure: bool = False,
            secrets: tuple[str, ...] = (KEY, URL_KEY)) -> Outcome:
    """Run ``fn``: any exception outside ``allowed`` fails; so does a secret in its output or error."""
    import logging

    from oyster_agents.errors import OysterError

    allowed = allowed or (OysterError,)
    out, err, logs = io.StringIO(), io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logs)
    root = logging.getLogger()
    root.addHandler(handler)
    outcome = Outcome()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            outcome.value = fn()
    except allowed as exc:
        outcome.error = exc
    except BaseException as exc:  # the property: nothing else escapes
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise FuzzFailure(f"unexpected {type(exc).__name__}: {exc!s:.300}\n{_tail(exc)}") from None
    finally:
        # Growth of the peak resident size: cheap, and blind to memory freed before the peak.
        outcome.peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before
        root.removeHandler(handler)
    error_text = "".join(traceback.format_exception(outcome.error)) if outcome.error else ""
    outcome.text = out.getvalue() + err.getvalue() + logs.getvalue() + error_text
    for secret in secrets:
        if secret in outcome.text or secret in repr(outcome.value)[:1_000_000]:
            raise FuzzFailure(f"a planted secret appeared in the output: {outcome.text[-500:]}")
    if outcome.peak_bytes > MEMORY_BOUND:
        raise FuzzFailure(f"raised peak memory by {outcome.peak_bytes / 2**20:.0f} MiB, over the bound of "
                          f"{MEMORY_BOUND / 2**20:.0f} MiB")
    if "Traceback (most recent call last)" in out.getvalue() + err.getvalue():
        raise FuzzFailure(f"a traceback was printed: {err.getvalue()[-800:]}")
    return outcome


def _tail(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))[-1500:]


def finite_numbers(value: Any, where: str = "") -> list[str]:
    """Paths of non-finite floats in a dumped structure."""
    if isinstance(value, float) and not math.isfinite(value):
        return [where or "(value)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in finite_numbers(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in finite_numbers(v, f"{where}[{i}]")]
    return []


def workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="oyster-fuzz-")


# ---- configuration: files, --set, environment, policy ------------------------------------------------
CONFIG_FIELDS = [
    "roles.default.model", "roles.default.backend", "roles.default.base_url", "roles.default.temperature",
    "roles.default.max_tokens", "roles.default.timeout_s", "roles.default.retry_backoff_s", "roles.default.api_key",
    "roles.safety_critic.model", "roles.safety_critic.api_key", "roles.default.extra_body", "roles.default.threads",
    "game.alpha", "game.beta", "game.gamma", "game.cost_token_scale", "game.boundary.R0", "game.boundary.R2",
    "loop.candidates", "loop.max_steps", "loop.min_improvement", "loop.max_query_chars", "loop.max_history_turns",
    "loop.deadline_s", "telemetry.exporter", "telemetry.endpoint", "policy_path", "unknown.field", "roles.nobody.model",
]


def _nest(path: str, value: Any) -> dict[str, Any]:
    node: Any = value
    for part in reversed(path.split(".")):
        node = {part: node}
    return node


@st.composite
def config_data(draw: Any) -> dict[str, Any]:
    """A config mapping with a few fields set to hostile values (wrong types, non-finite, huge)."""
    from oyster_agents.config import deep_merge

    data: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(CONFIG_FIELDS))
        data = deep_merge(data, _nest(path, draw(st.one_of(SCALARS, json_values(6)))))
    return data


@st.composite
def config_text(draw: Any) -> tuple[str, str]:
    """``(suffix, text)`` of a YAML or JSON config file with hostile structure."""
    import yaml

    data = draw(config_data())
    kind = draw(st.sampled_from(["yaml", "json", "aliases", "deep", "duplicate", "tags", "huge", "garbage"]))
    if kind == "json":
        return ".json", dumps(data)
    if kind == "aliases":
        width, levels = draw(st.integers(2, 12)), draw(st.integers(1, 9))
        lines = ["    a0: &a0 [" + ",".join(['"xxxxxxxx"'] * width) + "]"]
        lines += [f"    a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
        return ".yaml", "roles:\n  default:\n    extra_body:\n" + "\n".join("  " + ln for ln in lines) + "\n"
    if kind == "deep":
        opening, closing = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        depth = draw(st.integers(60, 3000))
        return ".yaml", "loop: " + opening * depth + "1" + closing * depth + "\n"
    if kind == "duplicate":
        return ".yaml", "loop:\n  max_steps: 2\n  max_steps: 3\n" + yaml.safe_dump(data, allow_unicode=True)
    if kind == "tags":
        return ".yaml", draw(st.sampled_from(["x: !!python/object/apply:os.system ['id']\n", "x: !!binary AAAA\n",
                                              "loop: !!set {a, b}\n", "game: &g {alpha: 1}\nloop: *g\n", "? [a]\n: b\n"]))
    if kind == "huge":
        return ".yaml", "roles:\n  default:\n    model: " + "m" * draw(st.integers(10_000, 1_200_000)) + "\n"
    if kind == "garbage":
        return draw(st.sampled_from([".yaml", ".json"])), draw(st.text(max_size=200))
    try:
        return ".yaml", yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return ".yaml", "{}"


def check_config_file(case: tuple[str, str], *, game_finite: bool = True) -> str:
    """A config file loads into a config whose numbers are finite, or fails with ConfigError."""
    from oyster_agents.config import OysterConfig
    from oyster_agents.errors import ConfigError

    suffix, text = case
    with workdir() as tmp, environment({}):
        path = Path(tmp) / f"oyster{suffix}"
        path.write_bytes(to_bytes(text))
        outcome = guarded(lambda: OysterConfig.load(path), allowed=(ConfigError,), measure=True)
    return _config_outcome(outcome, game_finite)


def _config_outcome(outcome: Outcome, game_finite: bool) -> str:
    if outcome.error is not None:
        return "rejected"
    dumped = outcome.value.model_dump(mode="python")
    bad = [p for p in finite_numbers(dumped) if game_finite or not p.startswith("game.")]
    if bad:
        raise FuzzFailure(f"accepted non-finite numbers at {bad}")
    return "accepted"


@st.composite
def set_args(draw: Any) -> list[str]:
    """``--set KEY=VALUE`` arguments with hostile keys and YAML values (the key planted in one of them)."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.one_of(st.sampled_from(CONFIG_FIELDS), st.sampled_from(["", ".", "a..b", "loop.", "=", "roles"]),
                             st.text(max_size=10)))
        value = draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=30), st.just("[" * 300),
                               st.just("&a [*a]"), st.just("{a: 1, a: 2}"), json_values(6).map(dumps)))
        if key.endswith("api_key"):  # the secret goes where secrets go, as text or as a wrong type
            value = draw(st.sampled_from([KEY, f"[{KEY}]", f"{{k: {KEY}}}", f"'{KEY}"]))
        elif key.endswith("base_url") and draw(st.booleans()):
            value = f"http://user:{URL_KEY}@127.0.0.1:9/v1"
        out.append(f"{key}={value}" if draw(st.integers(0, 9)) else key)
    return out


def check_set_args(items: list[str], *, game_finite: bool = True) -> str:
    """``--set`` values build a config or fail with ConfigError."""
    import argparse

    from oyster_agents.commands._common import add_config_options, config_from_args
    from oyster_agents.errors import ConfigError

    parser = argparse.ArgumentParser()
    add_config_options(parser)
    args = parser.parse_args([f"--set={item}" for item in items])
    with environment({}):
        outcome = guarded(lambda: config_from_args(args), allowed=(ConfigError,), measure=True)
    return _config_outcome(outcome, game_finite)


ENV_NAMES = ["OYSTER_" + p.upper().replace(".", "__") for p in CONFIG_FIELDS] + [
    "OYSTER_GAME", "OYSTER_LOOP", "OYSTER_ROLES", "OYSTER_ROLES__DEFAULT", "OYSTER_TELEMETRY", "OYSTER_",
    "OYSTER___", "OYSTER_ROLES____MODEL", "OYSTER_POLICY_PATH",
]


@st.composite
def env_values(draw: Any) -> dict[str, str]:
    """``OYSTER_*`` variables holding hostile text or JSON (never NUL, which an environment cannot hold)."""
    out = {}
    for _ in range(draw(st.integers(1, 4))):
        value = draw(st.one_of(st.sampled_from(HOSTILE_TEXT), json_values(6).map(dumps), st.text(max_size=30)))
        out[draw(st.sampled_from(ENV_NAMES))] = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return out


def check_env(values: dict[str, str], *, game_finite: bool = True) -> str:
    """``OYSTER_*`` variables build a config or fail with a ConfigError that names the variable, not its value."""
    from oyster_agents.config import OysterConfig
    from oyster_agents.errors import ConfigError

    with environment(values):
        outcome = guarded(lambda: OysterConfig.load(), allowed=(ConfigError,), measure=True)
    return _config_outcome(outcome, game_finite)


@st.composite
def policy_text(draw: Any) -> tuple[str, str]:
    """A policy file: the shipped one with hostile edits, or hostile structure."""
    from importlib import resources

    import yaml

    base = yaml.safe_load(resources.files("oyster_agents.taxonomy").joinpath("default.yaml").read_text("utf-8"))
    kind = draw(st.sampled_from(["edit", "edit", "json", "deep", "aliases", "huge", "garbage"]))
    if kind in ("edit", "json"):
        for _ in range(draw(st.integers(1, 3))):
            target = draw(st.sampled_from(["name", "levels", "categories", "default_guideline", "severity_scale", "x"]))
            if target == "categories" and draw(st.booleans()):
                index = draw(st.integers(0, len(base["categories"]) - 1))
                field_name = draw(st.sampled_from(["id", "name", "guideline", "typical_severity", "extra"]))
                base["categories"][index][field_name] = draw(st.one_of(SCALARS, json_values(6)))
            else:
                base[target] = draw(st.one_of(SCALARS, json_values(6)))
        if kind == "json":
            return ".json", dumps(base)
        try:
            return ".yaml", yaml.safe_dump(base, allow_unicode=True)
        except yaml.YAMLError:
            return ".yaml", "{}"
    if kind == "deep":
        return ".yaml", "categories: " + draw(deep_text()) + "\n"
    if kind == "aliases":
        return ".yaml", "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
            f"b{i}: &b{i} [" + ",".join(["*a" if i == 0 else f"*b{i - 1}"] * 8) + "]\n" for i in range(8))
    if kind == "huge":
        if draw(st.booleans()):  # one guideline over its limit
            base["categories"][0]["guideline"] = ["rule " * draw(st.integers(100, 6_000))]
            return ".yaml", yaml.safe_dump(base)
        return ".yaml", "name: padded\n" + "#" * draw(st.integers(2**20, 2**20 + 100))  # over the file limit
    return draw(st.sampled_from([".yaml", ".json"])), draw(st.text(max_size=200))


def check_policy(case: tuple[str, str]) -> str:
    """A policy file loads or fails with ConfigError."""
    from oyster_agents.errors import ConfigError
    from oyster_agents.taxonomy import load_taxonomy

    suffix, text = case
    with workdir() as tmp:
        path = Path(tmp) / f"policy{suffix}"
        path.write_bytes(to_bytes(text))
        outcome = guarded(lambda: load_taxonomy(path), allowed=(ConfigError,), measure=True)
    return "rejected" if outcome.error else "accepted"


# ---- batch and history JSON Lines --------------------------------------------------------------------
TURNS = st.lists(st.one_of(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "bot"]),
                                                  "content": st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_TEXT))}),
                           SCALARS), max_size=4)
BATCH_RECORD = st.fixed_dictionaries(
    {"query": st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(HOSTILE_TEXT), NUMBERS)},
    optional={"id": st.one_of(st.text(max_size=8), st.integers(), st.sampled_from(["kept-1", "kept-2", " "])),
              "history": st.one_of(TURNS, SCALARS), "profile": st.one_of(st.none(), st.text(max_size=10), NUMBERS)},
)
KEPT = [{"id": "kept-1", "query": "earlier", "answer": "kept"}, {"id": "kept-2", "status": "error", "query": "earlier"}]


def check_batch(data: bytes) -> str:
    """A batch input file runs good lines, reports bad ones, and keeps what the output already held."""
    from oyster_agents.backends.fake import scripted_models
    from oyster_agents.config import OysterConfig
    from oyster_agents.runner import run_batch

    with workdir() as tmp, environment({}), record_limit(4096):
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_bytes(data)
        before = "".join(json.dumps(r) + "\n" for r in KEPT)
        out.write_text(before, encoding="utf-8")
        config = OysterConfig(loop={"candidates": 1, "max_steps": 1})
        outcome = guarded(lambda: run_batch(src, out, config=config, models=scripted_models(), check_servers=False,
                                            concurrency=2))
        text = out.read_text(encoding="utf-8")
    if outcome.error is not None:
        raise FuzzFailure(f"the batch stopped: {outcome.error}")
    if not text.startswith(before):
        raise FuzzFailure("records already in the output were lost or changed")
    summary = outcome.value
    records = [json.loads(line) for line in text.split("\n") if line.strip()]
    if len(records) != len(KEPT) + summary.ok + summary.failed:
        raise FuzzFailure(f"records written do not add up: {len(records)} lines for {summary}")
    return f"{summary.ok} ok, {len(summary.bad_lines)} bad lines"


def check_history(data: bytes) -> str:
    """A ``--history`` file is read into cleaned, limited turns or refused with InputError."""
    from oyster_agents.commands.run import read_history
    from oyster_agents.errors import InputError

    with workdir() as tmp:
        path = Path(tmp) / "history.json"
        path.write_bytes(data)
        outcome = guarded(lambda: read_history(str(path), 32_000), allowed=(InputError,), measure=True)
    if outcome.error is None:
        for turn in outcome.value:
            if len(turn.content) > 32_000 or "\x00" in turn.content or "\r" in turn.content:
                raise FuzzFailure(f"a history turn was not cleaned or limited: {turn.content[:80]!r}")
    return "rejected" if outcome.error else f"{len(outcome.value)} turns"


HISTORY_FILES = st.one_of(
    TURNS.map(lambda v: to_bytes(dumps(v))), json_values().map(lambda v: to_bytes(dumps(v))),
    deep_text().map(to_bytes), st.binary(max_size=60),
    TURNS.map(lambda v: b"\xef\xbb\xbf" + to_bytes(dumps(v))),
)


# ---- traces (export, eval) and distill datasets ------------------------------------------------------
def _trace_records() -> st.SearchStrategy[Any]:
    from tests.unit.test_distill_rows import make_trace

    def mutate(args: tuple[str, Any, str]) -> dict[str, Any]:
        path, value, version = args
        trace = make_trace(schema_version=version)
        node = trace
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
        return trace

    paths = st.sampled_from(["query", "answer", "best_iterate", "iterates", "iterates.0.safety_score",
                             "iterates.1.answer", "assessment.level", "usage", "history", "chosen", "extra_field",
                             "iterates.0.safety", "iterates.2.origin", "iterates.0.game", "status", "id"])
    versions = st.sampled_from(["1.1", "1.1", "1.0", "9.9", "", "1"])
    good = versions.map(lambda v: make_trace(schema_version=v))
    return st.one_of(good, st.tuples(paths, st.one_of(SCALARS, json_values(6)), versions).map(mutate))


def check_traces(data: bytes) -> str:
    """Trace files are read record by record; export writes a dataset or says why not, keeping --out files."""
    from oyster_agents.distill import DatasetOptions, export_dataset, read_traces
    from oyster_agents.errors import InputError

    with workdir() as tmp, record_limit(64 * 1024):
        path = Path(tmp) / "traces.jsonl"
        path.write_bytes(data)
        outcome = guarded(lambda: read_traces([path]), measure=True)
        traces, problems = outcome.value
        for trace in traces:
            if trace.trace.schema_version not in ("1.0", "1.1"):
                raise FuzzFailure(f"a trace of unknown version {trace.trace.schema_version!r} was read")
        blocker = Path(tmp) / "dataset-file"
        blocker.write_text("keep")
        for out in (Path(tmp) / "dataset", blocker):
            guarded(lambda: export_dataset("sft", [path], out, DatasetOptions(eval_fraction=0.5)), allowed=(InputError,))
        if blocker.read_text() != "keep":
            raise FuzzFailure("export --out overwrote a file")
    return f"{len(traces)} traces, {len(problems)} problems"


def check_eval_files(data: bytes) -> str:
    """Benchmark files load or fail with InputError; an eval items.jsonl resumes or fails with InputError."""
    from oyster_agents.errors import InputError
    from oyster_agents.eval.loaders import load_constructive, load_strata_sword, load_xstest
    from oyster_agents.eval.records import read_records

    with workdir() as tmp, record_limit(64 * 1024):
        for name, loader in (("constructive.jsonl", load_constructive), ("strata_sword.jsonl", load_strata_sword),
                             ("xstest.csv", load_xstest), ("items.jsonl", read_records)):
            path = Path(tmp) / name
            path.write_bytes(data)
            guarded(lambda: loader(path), allowed=(InputError,), measure=True)
    return "read"


EVAL_RECORD = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.text(max_size=6), st.integers()), "prompt": st.one_of(st.text(max_size=20), NUMBERS),
    "query": st.one_of(st.text(max_size=20), SCALARS), "category": SCALARS, "level": SCALARS,
    "attack_method": SCALARS, "language": SCALARS, "label": st.sampled_from(["safe", "unsafe", "x"]),
})


def check_distill_rows(data: bytes) -> str:
    """A dataset split file is read into rows or refused with InputError naming the line."""
    from oyster_agents.distill.dataset import read_rows
    from oyster_agents.errors import InputError

    with workdir() as tmp, record_limit(64 * 1024):
        path = Path(tmp) / "train.jsonl"
        path.write_bytes(data)
        outcome = guarded(lambda: read_rows(path), allowed=(InputError,), measure=True)
    if outcome.error is None and not all(isinstance(row, dict) for row in outcome.value):
        raise FuzzFailure("a row that is not an object was accepted")
    return "rejected" if outcome.error else f"{len(outcome.value)} rows"


def check_distill_config(case: tuple[str, str]) -> str:
    """A distill config file loads or fails with ConfigError; its numbers are finite."""
    from oyster_agents.distill.config import DistillConfig
    from oyster_agents.errors import ConfigError

    suffix, text = case
    with workdir() as tmp:
        path = Path(tmp) / f"distill{suffix}"
        path.write_bytes(to_bytes(text))
        outcome = guarded(lambda: DistillConfig.load(path, defaults={"base_model": "default"}), allowed=(ConfigError,),
                          measure=True)
    if outcome.error is None and finite_numbers(outcome.value.model_dump(mode="python")):
        raise FuzzFailure(f"accepted non-finite numbers: {finite_numbers(outcome.value.model_dump(mode='python'))}")
    return "rejected" if outcome.error else "accepted"


@st.composite
def distill_config_text(draw: Any) -> tuple[str, str]:
    import yaml

    fields = ["method", "learning_rate", "epochs", "batch_size", "grad_accum", "max_length", "beta", "max_steps",
              "eval_fraction", "seed", "save_steps", "lora", "lora.r", "lora.alpha", "lora.dropout", "device", "x"]
    data: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 4))):
        data.update(_nest(draw(st.sampled_from(fields)), draw(st.one_of(SCALARS, json_values(4)))))
    kind = draw(st.sampled_from(["yaml", "json", "deep", "aliases"]))
    if kind == "json":
        return ".json", dumps(data)
    if kind == "deep":
        return ".yaml", "lora: " + draw(deep_text()) + "\n"
    if kind == "aliases":
        return ".yaml", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"b{i}: &b{i} [" + ",".join(["*a" if i == 0 else f"*b{i - 1}"] * 9) + "]\n" for i in range(8))
    try:
        return ".yaml", yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return ".yaml", "{}"


# ---- model replies to every structured role ----------------------------------------------------------
def structured_schemas() -> dict[str, type]:
    from oyster_agents.eval.records import RefusalJudgment
    from oyster_agents.schemas import (
        ChainRevision,
        ReactionProposal,
        RiskAssessment,
        SafetyJudgment,
        SatisfactionJudgment,
        StrategyProposal,
    )

    return {"risk_assessor": RiskAssessment, "strategist": StrategyProposal, "user_simulator": ReactionProposal,
            "safety_critic": SafetyJudgment, "satisfaction_critic": SatisfactionJudgment, "reviser": ChainRevision,
            "refusal_judge": RefusalJudgment}


ATTACK = "ATTACKER-OBJECT"


@st.composite
def model_reply(draw: Any) -> tuple[str, str, bool]:
    """``(role, reply, own_last)``: a reply of prose, echoed JSON (the user's, shaped like ours), fences,
    truncation and floods; ``own_last`` when the model's own valid object is the last object in it."""
    from oyster_agents.backends.fake import minimal_instance
    from oyster_agents.backends.structured import json_schema_of

    role = draw(st.sampled_from(sorted(structured_schemas())))
    schema = structured_schemas()[role]
    own = minimal_instance(json_schema_of(schema))
    echoed = _attacker_copy(schema, own)
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(st.sampled_from([
            "The user wrote: " + json.dumps(echoed), "```json\n" + json.dumps(echoed) + "\n```", "Sure! { not json",
            dumps(draw(json_values(6))), "Let me think } about {it}.", "{" * 200, "[" * 100, "\x00\ufeff", "",
        ])))
    own_last = draw(st.booleans())
    if own_last:
        wrapper = draw(st.sampled_from(["{}", "```json\n{}\n```", "Answer: {}", "{}\nHope that helps."]))
        parts.append(wrapper.replace("{}", json.dumps(own), 1))
    elif draw(st.booleans()):
        parts.append(json.dumps(own)[: draw(st.integers(1, len(json.dumps(own))))])  # cut at max_tokens
    return role, "\n".join(parts), own_last


def _attacker_copy(schema: type, own: Any) -> Any:
    """A schema-valid object like ``own`` with every free-text field set to the attacker's marker."""
    copy = json.loads(json.dumps(own))

    def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in items:
            if isinstance(value, str):
                yield (*path, key)
            else:
                yield from leaves(value, (*path, key))

    for path in list(leaves(copy)):
        parent = copy
        for key in path[:-1]:
            parent = parent[key]
        old, parent[path[-1]] = parent[path[-1]], ATTACK
        try:
            schema.model_validate(copy)
        except ValueError:
            parent[path[-1]] = old  # an enum or pattern: keep the valid value
    return copy


def check_model_reply(case: tuple[str, str, bool]) -> str:
    """A structured call validates, falls back or raises MalformedOutputError; it never takes the echoed
    object when the model's own object comes last."""
    from oyster_agents.backends.calls import RoleRuntime
    from oyster_agents.backends.fake import ScriptedChatModel, minimal_instance
    from oyster_agents.backends.structured import invoke_structured, json_schema_of
    from oyster_agents.config import RoleModelConfig
    from oyster_agents.errors import MalformedOutputError

    role, reply, own_last = case
    schema = structured_schemas()[role]
    runtime = RoleRuntime(role=role, config=RoleModelConfig(backend="fake", max_reasks=1, retry_backoff_s=0.0),
                          model=ScriptedChatModel(role=role, script=[reply]))
    outcome = guarded(lambda: invoke_structured(runtime, [], schema), allowed=(MalformedOutputError,), measure=True)
    if outcome.error is not None:
        if own_last:
            raise FuzzFailure(f"the model's own object at the end was not found: {reply[-300:]!r}")
        return "malformed"
    value = outcome.value.value.model_dump(mode="json")
    if own_last and value != schema.model_validate(minimal_instance(json_schema_of(schema))).model_dump(mode="json"):
        raise FuzzFailure(f"took another object than the model's own, last one: {value}")
    if ATTACK in json.dumps(value) and own_last:
        raise FuzzFailure("the echoed (attacker's) object reached the graph")
    return "parsed"


# ---- the graph as served: langgraph dev factory (server.py) ------------------------------------------
GRAPH_INPUT = st.fixed_dictionaries({"query": st.one_of(st.text(max_size=30), SCALARS, json_values(4))}, optional={
    "history": st.one_of(TURNS, SCALARS, json_values(4)), "profile": SCALARS, "id": SCALARS,
})
def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


OVERRIDES = st.one_of(config_data(), json_values(6), st.integers(60, 500).map(lambda n: {"loop": _deep_list(n)}))


def check_served_graph(case: tuple[Any, dict[str, Any]]) -> str:
    """The served graph factory takes hostile ``configurable.oyster`` overrides and hostile run input:
    a graph or ConfigError, then an answer or InputError/ConfigError."""
    import oyster_agents.backends as backends
    from oyster_agents import server
    from oyster_agents.backends.fake import scripted_models

    overrides, graph_input = case
    old = backends.make_models
    backends.make_models = lambda config: scripted_models()
    server._graphs.clear()
    try:
        with environment({}):
            built = guarded(lambda: server.make_graph({"configurable": {"oyster": overrides}}))
            if built.error is not None:
                return "overrides rejected"
            ran = guarded(lambda: built.value.invoke(graph_input))
    finally:
        backends.make_models = old
        server._graphs.clear()
    if ran.error is None and not isinstance(ran.value.get("answer"), str):
        raise FuzzFailure("the graph returned without an answer")
    return "input rejected" if ran.error else "answered"


# ---- the CLI -----------------------------------------------------------------------------------------
FLAG_VALUES = st.one_of(st.sampled_from(["0", "-1", "1", "nan", "inf", "-inf", "", "1e400", "2", "abc", "--", "-",
                                         "9" * 30]), st.text(max_size=10))
RUN_FLAGS = ["--max-steps", "--candidates", "--max-tokens", "--model", "--backend", "--base-url", "--history",
             "--config", "--set", "--trace"]
BATCH_FLAGS = RUN_FLAGS + ["--concurrency", "--max-consecutive-failures", "--wait-for-server", "--workers"]
EXPORT_FLAGS = ["--min-safety", "--min-constructive", "--max-pairs", "--min-margin", "--eval-fraction", "--seed",
                "--reasoning", "--dedupe", "--system"]


@st.composite
def cli_argv(draw: Any) -> list[str]:
    """``oyster`` arguments: a command, hostile flag values, hostile queries; ``{tmp}`` marks a work folder."""
    command = draw(st.sampled_from(["run", "run", "batch", "export", "help"]))
    flags = {"run": RUN_FLAGS, "batch": BATCH_FLAGS, "export": EXPORT_FLAGS, "help": []}[command]
    argv: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        flag = draw(st.sampled_from(flags)) if flags else "--version"
        value = draw(FLAG_VALUES)
        if flag == "--history":
            value = "{tmp}/history.json"
        elif flag == "--config":
            value = draw(st.sampled_from(["{tmp}/oyster.yaml", "{tmp}/missing.yaml", "{tmp}"]))
        elif flag == "--set":
            value = draw(set_args())[0]
        elif flag == "--base-url" and draw(st.booleans()):
            value = "http://u:" + URL_KEY + "@127.0.0.1:9/v1"
        argv += [flag, value] if flag != "--version" else [flag]
    if command == "run":
        query = draw(st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(["-", "--", "hi", "a" * 40_000])))
        return ["run", *argv, "--max-steps", "1", "--candidates", "1", "--", query]
    if command == "batch":
        return ["batch", "{tmp}/in.jsonl", "--out", "{tmp}/out.jsonl", "--no-progress", "--no-server-check", *argv]
    if command == "export":
        # The reasoning comes from the template: a writer model would load real weights.
        return ["export", "sft", "{tmp}/traces.jsonl", "--out", draw(st.sampled_from(["{tmp}/ds", "{tmp}/in.jsonl"])),
                "--quiet", "--reasoning-from", "template", *argv]
    return argv or ["--help"]


def check_cli(argv: list[str]) -> str:
    """``oyster ARGV`` exits 0, 1, 2 or 3 with ``oyster: error ...`` or argparse's usage, never a traceback."""
    import oyster_agents.backends as backends
    from oyster_agents.backends.fake import scripted_models
    from oyster_agents.cli import main
    from tests.unit.test_distill_rows import make_trace

    with workdir() as tmp, environment({}):
        folder = Path(tmp)
        (folder / "in.jsonl").write_text('{"id": "a", "query": "hi"}\n', encoding="utf-8")
        (folder / "history.json").write_text('[{"role": "user", "content": "earlier"}]', encoding="utf-8")
        (folder / "oyster.yaml").write_text("loop:\n  max_steps: 1\n", encoding="utf-8")
        (folder / "traces.jsonl").write_text(json.dumps(make_trace()) + "\n", encoding="utf-8")
        argv = [a.replace("{tmp}", tmp) for a in argv]
        before = (folder / "in.jsonl").read_bytes()
        old, old_stdin = backends.make_models, sys.stdin
        backends.make_models = lambda config: scripted_models()
        sys.stdin = io.TextIOWrapper(io.BytesIO(b"from stdin"))

        def call() -> int:
            try:
                return main(argv)
            except SystemExit as exc:  # argparse: usage error (2) or --help/--version (0)
                return exc.code if isinstance(exc.code, int) else 2

        try:
            outcome = guarded(call, allowed=(type(None),))
        finally:
            backends.make_models, sys.stdin = old, old_stdin
        if (folder / "in.jsonl").read_bytes() != before:
            raise FuzzFailure("an input file was changed")
    code = outcome.value
    if code not in (0, 1, 2, 3):
        raise FuzzFailure(f"exit code {code}")
    if code == 2 and "error" not in outcome.text and "usage" not in outcome.text:
        raise FuzzFailure(f"exit 2 without an error message: {outcome.text[-300:]}")
    return f"exit {code}"


# ---- the registry ------------------------------------------------------------------------------------
@dataclass
class Surface:
    """An input surface: its generator and its property check."""

    name: str
    strategy: Callable[[], st.SearchStrategy[Any]]
    check: Callable[[Any], str]
    cost: int = 1  # relative examples-per-second weight: 1 cheap reader, 5 a graph run
    notes: list[str] = field(default_factory=list)


def surfaces(*, game_finite: bool = True) -> list[Surface]:
    """Every input surface the harness covers."""
    return [
        Surface("cli arguments", cli_argv, check_cli, cost=5),
        Surface("--set values", set_args, lambda v: check_set_args(v, game_finite=game_finite)),
        Surface("config files", config_text, lambda v: check_config_file(v, game_finite=game_finite)),
        Surface("OYSTER_* variables", env_values, lambda v: check_env(v, game_finite=game_finite)),
        Surface("policy files", policy_text, check_policy, cost=5),
        Surface("batch input (JSON Lines)", lambda: jsonl_bytes(BATCH_RECORD), check_batch, cost=5),
        Surface("history files", lambda: HISTORY_FILES, check_history),
        Surface("trace files (export)", lambda: jsonl_bytes(_trace_records()), check_traces, cost=2),
        Surface("eval data and items files", lambda: jsonl_bytes(EVAL_RECORD), check_eval_files),
        Surface("distill datasets", lambda: jsonl_bytes(json_values()), check_distill_rows),
        Surface("distill config files", distill_config_text, check_distill_config),
        Surface("model replies (structured roles)", model_reply, check_model_reply),
        Surface("served graph (langgraph dev factory)", lambda: st.tuples(OVERRIDES, GRAPH_INPUT), check_served_graph,
                cost=5),
    ]


# ---- defects found and fixed, each with its regression test (tests/reliability/test_input_limits.py) ---
_T = "tests/reliability/test_input_limits.py::"
FIXED: list[tuple[str, str, str]] = [
    (row["surface"], row["defect"], _T + row["test"])
    for row in yaml.safe_load(Path(__file__).with_name("fixed_defects.yaml").read_text(encoding="utf-8"))
]
