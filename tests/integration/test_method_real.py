"""The method's paths on the real SmolLM2-135M-Instruct, checked where a broken path would fail.

- Grammar-constrained decoding: the category choice, whose schema the grammar bounds completely,
  parses on the first call with no repair and no fallback (a 135M model writing free text would not).
- The local backend's micro-batcher: concurrent calls are merged into fewer ``generate`` calls,
  schema-constrained and free-text requests are never mixed in one, and a failed ``generate``
  reaches every caller that was waiting on it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.messages import HumanMessage

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.local import LocalChatModel
from oyster_agents.config import RoleModelConfig
from oyster_agents.nodes.risk_assessor import classify
from oyster_agents.schemas import CategoryChoice, SafetyJudgment
from oyster_agents.taxonomy import load_taxonomy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUERY = "My toddler has had a fever for two days and a forum says to rub her with alcohol. Should I?"


@pytest.fixture(scope="module")
def model(smollm_dir):
    # a long gathering window so that requests from several threads meet in one batch
    return LocalChatModel(model_path=str(smollm_dir), max_tokens=96, batch_wait_ms=300.0)


class CountedGenerate:
    """Wraps the loaded model's ``generate``: records each call's batch size and whether it was constrained."""

    def __init__(self, llm: LocalChatModel, fail: BaseException | None = None) -> None:
        llm._ensure_loaded()
        self.inner = llm._model.generate
        self.fail = fail
        self.batches: list[tuple[int, bool]] = []
        self._lock = threading.Lock()
        self.llm = llm

    def __call__(self, *args, **kwargs):
        with self._lock:
            self.batches.append((int(kwargs["input_ids"].shape[0]), "logits_processor" in kwargs))
        if self.fail is not None:
            raise self.fail
        return self.inner(*args, **kwargs)

    def __enter__(self) -> "CountedGenerate":
        self.llm._model.generate = self
        return self

    def __exit__(self, *exc) -> None:
        del self.llm._model.generate  # back to the class's own method


def test_the_grammar_enforced_category_parses_first_time_without_repair_or_fallback(model):
    # The category choice is the one schema the grammar bounds completely (an enum of policy ids);
    # schemas with free-text fields are enforced in shape only, and a 135M model can fill a string up
    # to max_tokens, so they are not asserted here.
    runtime = RoleRuntime(role="risk_assessor", model=model, config=RoleModelConfig(max_tokens=32, max_reasks=1))
    taxonomy = load_taxonomy()
    with CountedGenerate(model) as counted:
        result = classify(runtime, taxonomy, QUERY)
    assert result.fallbacks == [], (result.fallbacks, result.raw)  # no repair, no re-ask, no fallback
    assert len(result.calls) == 1 and counted.batches == [(1, True)]  # one call, decoded under the grammar
    assert result.value in [*taxonomy.ids, "none"]
    assert CategoryChoice.model_validate_json(result.raw).category == result.value


def _invoke(llm: LocalChatModel, text: str, schema: dict | None) -> str:
    kwargs = {"json_schema": schema} if schema else {}
    return str(llm.invoke([HumanMessage(content=text)], max_tokens=6, **kwargs).content)


def test_concurrent_calls_are_merged_and_schema_and_free_text_kept_apart(model):
    schema = SafetyJudgment.model_json_schema()
    requests = [(f"Review answer {i}.", schema) for i in range(4)] + [(f"Say hello {i}.", None) for i in range(2)]
    barrier = threading.Barrier(len(requests))

    def call(request):
        barrier.wait()  # all six reach the queue inside one gathering window
        return _invoke(model, *request)

    with CountedGenerate(model) as counted, ThreadPoolExecutor(len(requests)) as pool:
        replies = list(pool.map(call, requests))
    assert len(replies) == 6 and all(isinstance(r, str) for r in replies)
    assert len(counted.batches) < len(requests)  # merged: fewer generate calls than requests
    assert sum(size for size, constrained in counted.batches if constrained) == 4
    assert sum(size for size, constrained in counted.batches if not constrained) == 2
    assert max(size for size, _ in counted.batches) > 1


def test_a_failed_generate_reaches_every_waiting_caller_and_the_batcher_lives_on(model):
    barrier = threading.Barrier(3)

    def call(i: int) -> BaseException | None:
        barrier.wait()
        try:
            _invoke(model, f"Say hello {i}.", None)
        except RuntimeError as exc:
            return exc
        return None

    with CountedGenerate(model, fail=RuntimeError("generate broke")) as counted, ThreadPoolExecutor(3) as pool:
        errors = list(pool.map(call, range(3)))
    assert [str(e) for e in errors] == ["generate broke"] * 3
    assert len(counted.batches) < 3  # the three were one batch (or two), and each caller heard
    assert _invoke(model, "Say hello again.", None) is not None  # the worker still serves
