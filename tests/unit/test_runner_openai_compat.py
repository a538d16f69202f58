"""Request fields for vLLM and other OpenAI-compatible servers."""

from __future__ import annotations

from oyster_agents.backends.openai_compat import response_format_for, structured_request_fields
from oyster_agents.config import RoleModelConfig

SCHEMA = {"type": "object", "properties": {"verdict": {"enum": ["safe", "unsafe"]}}, "required": ["verdict"]}


def _role(**settings) -> RoleModelConfig:
    return RoleModelConfig(backend="openai", base_url="http://vllm:8000/v1", model="safety-lora", **settings)


def test_the_schema_travels_as_response_format_inside_extra_body_with_the_roles_own_fields():
    fields = structured_request_fields(_role(extra_body={"top_k": 20}), SCHEMA, "SafetyJudgment")
    assert set(fields) == {"extra_body"}
    body = fields["extra_body"]
    assert body["top_k"] == 20
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "SafetyJudgment", "schema": SCHEMA, "strict": False},
    }


def test_structured_output_modes():
    assert structured_request_fields(_role(structured_output="none"), SCHEMA, "X") == {}
    assert structured_request_fields(_role(structured_output="json_object"), SCHEMA, "X") == {
        "extra_body": {"response_format": {"type": "json_object"}}
    }
    assert response_format_for(SCHEMA, "X", "json_schema")["json_schema"]["schema"] is SCHEMA
