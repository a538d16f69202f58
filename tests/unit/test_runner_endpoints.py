"""Several endpoints in one configuration, and how Ray shards are dealt."""

from __future__ import annotations

from oyster_agents import OysterConfig
from oyster_agents.backends.openai_compat import make_openai_model, split_base_urls
from oyster_agents.runner.ray import shard_items
from oyster_agents.runner.endpoints import config_for_endpoint, endpoint_count
from oyster_agents.runner.inputs import BatchItem

A, B, C = "http://a:8000/v1", "http://b:8000/v1", "http://c:8000/v1"


def test_base_url_lists_split_on_commas_and_spaces():
    assert split_base_urls(A) == [A]
    assert split_base_urls(f" {A}, {B}\n{C} ,") == [A, B, C]


def test_each_endpoint_variant_gives_every_openai_role_one_url_round_robin():
    config = OysterConfig(roles={
        "default": {"backend": "openai", "model": "base", "base_url": f"{A},{B},{C}"},
        "safety_critic": {"backend": "openai", "model": "judge", "base_url": f"{A} {B}"},
        "responder": {"backend": "hf", "model": "default"},
    })
    assert endpoint_count(config) == 3
    urls = [(config_for_endpoint(config, j).role("strategist").base_url,
             config_for_endpoint(config, j).role("safety_critic").base_url) for j in range(4)]
    assert urls == [(A, A), (B, B), (C, A), (A, B)]
    variant = config_for_endpoint(config, 1)
    assert variant.role("responder").backend == "hf" and variant.role("safety_critic").model == "judge"
    assert config.role("strategist").base_url == f"{A},{B},{C}"  # the original is untouched


def test_a_config_without_url_lists_has_one_endpoint():
    assert endpoint_count(OysterConfig()) == 1
    assert endpoint_count(OysterConfig(roles={"default": {"backend": "openai", "base_url": A}})) == 1


def test_a_single_graph_uses_the_first_listed_url():
    config = OysterConfig(roles={"default": {"backend": "openai", "model": "m", "base_url": f"{B}, {C}"}})
    model = make_openai_model(config.role("responder"))
    assert str(model.openai_api_base).rstrip("/") == B.rstrip("/")


def test_shards_are_dealt_round_robin_and_cover_every_item_once():
    items = [BatchItem(id=f"q{i}", query="x", line=i + 1) for i in range(7)]
    shards = shard_items(items, 3)
    assert [[i.id for i in s] for s in shards] == [["q0", "q3", "q6"], ["q1", "q4"], ["q2", "q5"]]
    assert len(shard_items(items[:2], 5)) == 2
