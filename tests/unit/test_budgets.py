"""Per-role token budgets, the cpu-quick profile and the string bounds sent to the decoding grammar."""

from __future__ import annotations

import pytest

from oyster_agents.backends.structured import MAX_ITEM_CHARS, MAX_STRING_CHARS, json_schema_of
from oyster_agents.config import PROFILES, ROLE_MAX_TOKENS, OysterConfig, Role
from oyster_agents.errors import ConfigError
from oyster_agents.schemas import StrategyProposal
from oyster_agents.schemas.critique import SafetyJudgment


def test_each_role_gets_its_own_budget_unless_one_is_set():
    config = OysterConfig()
    assert {r.value: config.role(r).max_tokens for r in Role} == ROLE_MAX_TOKENS
    assert config.role(Role.RESPONDER).max_tokens == max(ROLE_MAX_TOKENS.values())  # the answer writer
    one_cap = OysterConfig.load(overrides={"roles": {"default": {"max_tokens": 99}}})
    assert {one_cap.role(r).max_tokens for r in Role} == {99}
    own = OysterConfig.load(overrides={"roles": {"default": {}, "reviser": {"max_tokens": 50}}})
    assert own.role(Role.REVISER).max_tokens == 50 and own.role(Role.STRATEGIST).max_tokens == ROLE_MAX_TOKENS["strategist"]


def test_profile_sits_under_flags_and_names_itself():
    quick = OysterConfig.load(overrides={"profile": "cpu-quick"})
    assert quick.profile == "cpu-quick"
    assert (quick.loop.candidates, quick.loop.max_steps, quick.loop.min_steps) == (3, 3, 3)
    assert quick.role(Role.RESPONDER).threads is None  # torch's default: two threads beat one on an idle 2-core machine
    # the method's shape: >= 3 strategies; unguided answer, guided answer and at least one revision
    assert PROFILES["cpu-quick"]["loop"]["candidates"] >= 3 and PROFILES["cpu-quick"]["loop"]["max_steps"] >= 3
    flagged = OysterConfig.load(overrides={"profile": "cpu-quick", "loop": {"candidates": 4}})
    assert (flagged.loop.candidates, flagged.loop.max_steps) == (4, 3)
    with pytest.raises(ConfigError, match="unknown profile 'fast'.*cpu-quick"):
        OysterConfig.load(overrides={"profile": "fast"})


def test_cli_profile_flag_reaches_the_config():
    from oyster_agents.cli import make_parser
    from oyster_agents.commands._common import config_from_args

    args = make_parser().parse_args(["run", "q", "--profile", "cpu-quick", "--max-steps", "4"])
    config = config_from_args(args)
    assert config.profile == "cpu-quick" and config.loop.max_steps == 4 and config.loop.candidates == 3


def test_grammar_bounds_free_text_and_list_items_but_not_enums():
    js = json_schema_of(StrategyProposal)
    props = js["properties"]
    assert props["description"]["maxLength"] == MAX_STRING_CHARS
    assert props["usefulness_strategies"]["items"]["maxLength"] == MAX_ITEM_CHARS < MAX_STRING_CHARS
    verdict = json_schema_of(SafetyJudgment)["$defs"]["SafetyVerdict"]
    assert "maxLength" not in verdict and verdict["enum"] == ["safe", "borderline", "unsafe"]
    # validation is not tightened: a longer value still validates
    StrategyProposal.model_validate({"title": "t", "description": "x" * 2000,
                                     "usefulness_strategies": ["a"], "safety_strategies": ["b"]})
