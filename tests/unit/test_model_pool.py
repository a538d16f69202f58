"""One model cache (roles, targets and judges share a loaded model) and one way to name a model."""

from __future__ import annotations

from oyster_agents.backends import ModelPool, ScriptedChatModel, make_models, model_name
from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.local import LocalChatModel
from oyster_agents.config import OysterConfig, Role


def _config(tmp_path, **roles) -> OysterConfig:
    return OysterConfig(roles={"default": {"backend": "hf", "model": str(tmp_path / "m")}, **roles})


def test_roles_with_the_same_local_model_share_one_instance(tmp_path):
    models = make_models(_config(tmp_path, safety_critic={"backend": "hf", "model": str(tmp_path / "judge")}))
    assert set(models) == {role.value for role in Role}
    shared = models["responder"]
    assert isinstance(shared, LocalChatModel) and shared.model_path == str(tmp_path / "m")
    assert all(models[r.value] is shared for r in Role if r is not Role.SAFETY_CRITIC)
    assert models["safety_critic"] is not shared and models["safety_critic"].model_path == str(tmp_path / "judge")


def test_a_pool_shares_its_models_beyond_one_call(tmp_path):
    pool = ModelPool()
    first = make_models(_config(tmp_path), pool)
    again = make_models(_config(tmp_path), pool)
    assert again["strategist"] is first["strategist"]
    assert pool.get(_config(tmp_path).role(Role.RESPONDER)) is first["responder"]
    assert make_models(_config(tmp_path))["strategist"] is not first["strategist"]  # a new pool loads anew


def test_a_model_is_named_by_its_name_through_a_binding_else_by_its_class(tmp_path):
    local = LocalChatModel(model_path=str(tmp_path / "SmolLM2-135M-Instruct"))
    scripted = ScriptedChatModel(role="responder", script=["hi"], model_name="scripted-v2")
    assert model_name(local) == "SmolLM2-135M-Instruct"
    assert model_name(scripted) == "scripted-v2"
    assert model_name(scripted.bind(stop=["\n"])) == "scripted-v2"
    unnamed = ScriptedChatModel(role="x", script=[], model_name="")
    assert model_name(unnamed) == model_name(unnamed.bind(stop=["x"])) == "ScriptedChatModel"
    assert RoleRuntime(role="responder", model=scripted.bind(stop=["x"])).model_name == "scripted-v2"
