"""Configuration sources and the policy file: valid input loads, bad input names the problem."""

from __future__ import annotations

import pytest

from oyster_agents.config import OysterConfig, Role
from oyster_agents.errors import ConfigError
from oyster_agents.taxonomy import load_taxonomy

from ._files import load_error


def test_defaults_cover_every_role():
    cfg = OysterConfig()
    for role in Role:
        assert cfg.role(role).backend == "hf"


def test_file_env_and_overrides_in_priority_order(tmp_path, monkeypatch):
    path = tmp_path / "oyster.yaml"
    path.write_text("game:\n  beta: 3.0\n  gamma: 0.5\nloop:\n  max_steps: 2\n")
    monkeypatch.setenv("OYSTER_GAME__GAMMA", "0.25")
    cfg = OysterConfig.load(path, overrides={"loop": {"max_steps": 1}})
    assert cfg.game.beta == 3.0  # file
    assert cfg.game.gamma == 0.25  # env beats file
    assert cfg.loop.max_steps == 1  # overrides beat both


def test_per_role_models_fall_back_to_default():
    cfg = OysterConfig(roles={"default": {"backend": "hf"}, "safety_critic": {"backend": "openai", "base_url": "http://x/v1", "model": "judge"}})
    assert cfg.role(Role.SAFETY_CRITIC).model == "judge"
    assert cfg.role(Role.RESPONDER).backend == "hf"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("game: [1, 2", "invalid YAML"),
        ("loop:\n  max_steps: many\n", "loop.max_steps"),
        ("roles:\n  judge:\n    backend: hf\n", "unknown roles"),
        ("roles:\n  default:\n    backend: openai\n", "base_url"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_bad_config_files_name_the_problem(tmp_path, text, needle):
    message = load_error(OysterConfig.load, tmp_path / "bad.yaml", text, ConfigError)
    assert needle in message
    assert "bad.yaml" in message or needle in ("unknown roles", "base_url", "loop.max_steps")


def test_default_taxonomy_is_complete():
    tax = load_taxonomy()
    assert len(tax.categories) == 32
    assert set(tax.levels) == {"R0", "R1", "R2"}
    assert all(4 <= len(c.guideline) <= 6 for c in tax.categories)
    assert tax.resolve("Mental Health") == "mental_health"
    assert tax.resolve("none") == "none"
    assert tax.resolve("quantum baking") is None


def test_user_policy_file_replaces_the_default(tmp_path):
    import yaml

    data = yaml.safe_load(open(load_taxonomy.__globals__["resources"].files("oyster_agents.taxonomy").joinpath("default.yaml")))
    data["categories"] = data["categories"][:2]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    assert len(load_taxonomy(path).categories) == 2


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda d: d["categories"][0].pop("guideline"), "categories[0](id="),
        (lambda d: d["categories"][1].update(id="Bad Id"), "categories[1]"),
        (lambda d: d["categories"].append(dict(d["categories"][0])), "duplicate category ids"),
        (lambda d: d["levels"].pop("R2"), "levels"),
    ],
)
def test_malformed_policy_names_file_and_field(tmp_path, mutate, needle):
    import yaml

    from importlib import resources

    data = yaml.safe_load(resources.files("oyster_agents.taxonomy").joinpath("default.yaml").read_text())
    mutate(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert "policy.yaml" in str(info.value) and needle in str(info.value)


def test_policy_yaml_syntax_error_has_a_line(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("name: x\ncategories: [\n  - id: a\n")
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert "policy.yaml:" in str(info.value)
