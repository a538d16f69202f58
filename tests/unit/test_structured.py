"""Malformed model output is repaired, re-asked or falls back, and every such event is recorded."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from oyster_agents.backends._json import extract_json
from oyster_agents.backends.calls import RoleRuntime, call_model
from oyster_agents.backends.fake import ScriptedChatModel
from oyster_agents.backends.structured import invoke_structured
from oyster_agents.config import RoleModelConfig
from oyster_agents.errors import BackendError, MalformedOutputError
from oyster_agents.schemas import SafetyJudgment, SafetyVerdict

VALID = {"verdict": "unsafe", "explanation": "gives steps", "suggestion": "remove steps", "predicted_next_turn": ""}


def runtime(script, **cfg) -> RoleRuntime:
    config = RoleModelConfig(backend="fake", max_reasks=cfg.pop("max_reasks", 2), retry_backoff_s=0.0, **cfg)
    return RoleRuntime(role="safety_critic", model=ScriptedChatModel(role="safety_critic", script=script), config=config)


@pytest.mark.parametrize(
    "text,repaired",
    [
        (json.dumps(VALID), False),
        ("```json\n" + json.dumps(VALID) + "\n```", True),
        ("Sure! Here it is: " + json.dumps(VALID) + " Hope it helps.", True),
        (json.dumps(VALID)[:-10], True),  # truncated
        ("{'verdict': 'unsafe', 'explanation': 'x', 'suggestion': 'y',}", True),  # single quotes, trailing comma
    ],
)
def test_extract_json_handles_common_damage(text, repaired):
    value, was_repaired = extract_json(text)
    assert value["verdict"] == "unsafe"
    assert was_repaired is repaired


@pytest.mark.parametrize("text", ["", "   ", "no json at all", "[1, 2]"])
def test_extract_json_rejects_what_has_no_object(text):
    with pytest.raises(ValueError):
        extract_json(text)


def test_prose_around_json_is_repaired_and_recorded():
    rt = runtime(["Here you go: " + json.dumps(VALID) + " bye"])
    result = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment)
    assert result.value.verdict is SafetyVerdict.UNSAFE
    assert [f.kind for f in result.fallbacks] == ["repaired_json"]
    assert len(result.calls) == 1


def test_wrong_fields_are_reasked_with_the_error_shown():
    bad = json.dumps({"verdict": "dangerous", "explanation": "x", "suggestion": "y"})
    model_script = [bad, json.dumps(VALID)]
    rt = runtime(model_script)
    result = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment)
    assert result.value.verdict is SafetyVerdict.UNSAFE
    assert [f.kind for f in result.fallbacks] == ["reasked"]
    second_prompt = rt.model.calls[1]
    assert "verdict" in second_prompt[-1].content and "not usable" in second_prompt[-1].content


def test_empty_output_falls_back_after_reasks_and_records_it():
    rt = runtime(["", "", ""])
    result = invoke_structured(
        rt, [HumanMessage("judge")], SafetyJudgment,
        fallback=lambda reason: SafetyJudgment(verdict="borderline", explanation=reason, suggestion="s"),
    )
    assert result.used_fallback and result.value.verdict is SafetyVerdict.BORDERLINE
    assert len(result.calls) == 3  # one call + two re-asks
    assert result.fallbacks[-1].kind == "fallback_value"


def test_without_fallback_malformed_output_raises_with_raw_text():
    rt = runtime(["nope", "still nope"], max_reasks=1)
    with pytest.raises(MalformedOutputError) as info:
        invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment)
    assert info.value.raw == "still nope" and info.value.attempts == 2


def test_truncated_json_is_closed_and_flagged():
    rt = runtime([json.dumps(VALID)[:-3]])
    result = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment)
    assert result.value.explanation == "gives steps"
    assert result.fallbacks and result.fallbacks[0].kind == "repaired_json"


def test_transient_backend_errors_are_retried_then_succeed():
    rt = runtime([ConnectionError("reset"), TimeoutError("slow"), json.dumps(VALID)], max_retries=3)
    result = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment)
    assert result.calls[0].attempts == 3


def test_backend_error_after_backoff_names_role_model_attempts():
    rt = runtime([ConnectionError("down")], max_retries=2)
    with pytest.raises(BackendError) as info:
        call_model(rt, [HumanMessage("x")])
    err = info.value
    assert (err.role, err.model, err.attempts) == ("safety_critic", "scripted", 3)
    assert "ConnectionError" in str(err)


def test_non_transient_errors_are_not_retried():
    rt = runtime([ValueError("bad request")], max_retries=5)
    with pytest.raises(BackendError) as info:
        call_model(rt, [HumanMessage("x")])
    assert info.value.attempts == 1


def _cut_reply() -> AIMessage:
    """A JSON reply the server stopped at max_tokens."""
    return AIMessage(content='{"verdict": "unsafe", "explanation": "', response_metadata={"finish_reason": "length"})


def test_a_reply_cut_at_max_tokens_is_reasked_for_a_shorter_object():
    rt = runtime([_cut_reply(), json.dumps(VALID)])
    result = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment)
    assert result.value.verdict is SafetyVerdict.UNSAFE and len(result.calls) == 2
    reask = rt.model.calls[1][-1].content
    assert "shorter JSON object" in reask


def test_a_reply_cut_twice_goes_to_the_fallback_without_more_reasks():
    rt = runtime([_cut_reply(), _cut_reply(), json.dumps(VALID)], max_reasks=3)
    result = invoke_structured(
        rt, [HumanMessage("judge")], SafetyJudgment,
        fallback=lambda reason: SafetyJudgment(verdict="borderline", explanation=reason, suggestion="s"),
    )
    assert result.used_fallback and len(result.calls) == 2


def test_each_call_records_its_schema_reask_outcome_finish_and_cap():
    # whole as written, yet it reached max_tokens: counted as closed by repair, not as clean
    cut_then_repaired = AIMessage(content=json.dumps(VALID), response_metadata={"finish_reason": "length"})
    rt = runtime(["no json", json.dumps(VALID)], max_tokens=77)
    result = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment)
    first, second = result.calls
    assert (first.schema_name, first.reask, first.parsed) == ("SafetyJudgment", 0, "invalid")
    assert (second.reask, second.parsed, second.finish_reason, second.max_tokens) == (1, "valid", "stop", 77)
    rt = runtime([cut_then_repaired])
    (call,) = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment).calls
    assert (call.reask, call.parsed, call.finish_reason) == (0, "repaired", "length")
    rt = runtime([json.dumps(VALID)])
    (call,) = invoke_structured(rt, [HumanMessage("judge")], SafetyJudgment).calls
    assert (call.reask, call.parsed) == (0, "valid")
    plain = call_model(rt, [HumanMessage("x")])[1]  # a free-text call has no structured outcome
    assert (plain.schema_name, plain.parsed, plain.finish_reason) == (None, None, "stop")


def test_the_trace_keeps_every_call_record_beside_the_totals():
    from oyster_agents.schemas.trace import CallRecord, Usage

    calls = [CallRecord(role="a", model="m", output_tokens=5, parsed="valid"),
             CallRecord(role="b", model="m", output_tokens=7, finish_reason="length")]
    usage = Usage.model_validate_json(Usage.from_calls(calls).model_dump_json())
    assert usage.calls == calls and usage.total.output_tokens == 12
    assert Usage.model_validate({"per_role": {}, "total": {}}).calls == []  # a trace written before: no list
