"""GameConfig validation: weights finite and ≥ 0, limits finite in [0, 1] with R0 ≥ R1 ≥ R2."""

from __future__ import annotations

import math

import pytest

from oyster_agents.config import GameConfig, OysterConfig
from oyster_agents.errors import ConfigError


@pytest.mark.parametrize(
    ("game", "where", "why"),
    [
        ({"beta": math.inf}, "game.beta", "finite"),
        ({"alpha": math.nan}, "game.alpha", "finite"),
        ({"gamma": -math.inf}, "game.gamma", ""),
        ({"gamma": -0.1}, "game.gamma", "greater than or equal to 0"),
        ({"beta": -1}, "game.beta", "greater than or equal to 0"),
        ({"boundary": {"R0": math.nan, "R1": 0.4, "R2": 0.2}}, "game.boundary.R0", "finite"),
        ({"boundary": {"R0": 0.6, "R1": math.inf, "R2": 0.2}}, "game.boundary.R1", ""),
        ({"boundary": {"R0": 1.5, "R1": 0.4, "R2": 0.2}}, "game.boundary.R0", "less than or equal to 1"),
        ({"boundary": {"R0": 0.6, "R1": 0.4, "R2": -0.2}}, "game.boundary.R2", "greater than or equal to 0"),
        ({"boundary": {"R0": 0.2, "R1": 0.4, "R2": 0.1}}, "game.boundary", "R0 ≥ R1 ≥ R2"),
        ({"boundary": {"R0": 0.6, "R1": 0.4, "R2": 0.5}}, "game.boundary", "R0 ≥ R1 ≥ R2"),
        ({"boundary": {"R0": 0.6, "R1": 0.4}}, "game.boundary", "lacks levels ['R2']"),
        ({"boundary": {"R0": 0.6, "R1": 0.4, "R2": 0.2, "R3": 0.1}}, "game.boundary", "unknown levels ['R3']"),
    ],
)
def test_bad_game_values_raise_a_config_error_naming_the_field(game, where, why):
    with pytest.raises(ConfigError) as info:
        OysterConfig.load(overrides={"game": game})
    line = next(x for x in str(info.value).splitlines() if x.strip().startswith(where + ":"))
    assert why in line


def test_infinite_beta_in_a_yaml_file_is_rejected_with_file_and_line(tmp_path):
    path = tmp_path / "oyster.yaml"
    path.write_text("loop:\n  max_steps: 2\ngame:\n  beta: .inf\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"oyster.yaml:4: game.beta: Input should be a finite number"):
        OysterConfig.load(path)


def test_infinite_beta_from_the_environment_is_rejected(monkeypatch):
    monkeypatch.setenv("OYSTER_GAME__BETA", "inf")
    with pytest.raises(ConfigError, match="game.beta"):
        OysterConfig.load()


def test_valid_edges_are_accepted():
    cfg = GameConfig(alpha=0, beta=0, gamma=0, boundary={"R0": 1.0, "R1": 1.0, "R2": 0.0})
    assert cfg.boundary == {"R0": 1.0, "R1": 1.0, "R2": 0.0}
    assert GameConfig().boundary == {"R0": 0.6, "R1": 0.4, "R2": 0.2}
