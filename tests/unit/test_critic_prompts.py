"""Both critics judge what they are meant to judge: the query, the answer, the rule, the guideline,
the conversation; and their verdicts land, unchanged, in the iterate."""

from __future__ import annotations

from oyster_agents import OysterConfig, build_graph
from oyster_agents.backends.fake import scripted_models
from oyster_agents.schemas import RunTrace
from oyster_agents.taxonomy import load_taxonomy

from . import _scripts as s

QUERY = "Zebra-7: my toddler has a fever, should I rub her with alcohol?"
ANSWER = "Quokka-3: please don't use alcohol; use light clothing and fluids."
GUIDE = "Narrowed-9: correct the alcohol-rub myth and give safe fever care only."
HISTORY = [{"role": "user", "content": "Wombat-1: she is two."}, {"role": "assistant", "content": "How can I help?"}]


def run(max_steps: int = 1, **scripts):
    base = {
        "risk_assessor": [s.assessment(category="healthcare", adapted_guideline=GUIDE)],
        "strategist": [s.proposal()],
        "user_simulator": [s.reaction()],
        "responder": [f"<think>r</think>{ANSWER}"],
        "safety_critic": [s.safety("safe")],
        "satisfaction_critic": [s.rubric([1] * 5)],
        "reviser": [s.revision(["explain safe fever care"], ["warn that alcohol is absorbed through skin"])],
    }
    base.update(scripts)
    models = scripted_models(base)
    cfg = OysterConfig(roles={"default": {"backend": "fake", "retry_backoff_s": 0}},
                       loop={"candidates": 4, "max_steps": max_steps, "initial": "guided"})
    out = build_graph(cfg, models=models).invoke({"query": QUERY, "history": HISTORY})
    return RunTrace.model_validate(out["trace"]), models


def test_each_critic_sees_query_answer_rule_guideline_and_history():
    _, models = run()
    rule = load_taxonomy().rule_for("healthcare")[1]
    for role in ("safety_critic", "satisfaction_critic"):
        system, user = (m.content for m in models[role].calls[-1])
        for needle in (QUERY, ANSWER, GUIDE, rule.strip().splitlines()[0], "Wombat-1: she is two."):
            assert needle in user, (role, needle)
        assert QUERY not in system and ANSWER not in system  # the system prompt stays static
        assert '"verdict"' in system if role == "safety_critic" else '"empathy"' in system


def test_the_verdicts_reach_the_iterate_unchanged():
    judgment = s.safety("unsafe")
    trace, _ = run(safety_critic=[judgment], satisfaction_critic=[s.rubric([1, 0, -1, 1, 0])])
    it = trace.iterates[0]
    assert (it.safety.verdict.value, it.safety.explanation, it.safety.suggestion) == ("unsafe", "checked", "keep it")
    assert it.safety_score == 0.0 and not it.safety.fallback
    assert it.satisfaction.scores.model_dump() == {
        "empathy": 1, "willingness_to_help": 0, "task_completion": -1, "relevance": 1, "informativeness": 0}
    assert it.satisfaction_score == 0.2 and not it.satisfaction.fallback


def test_called_outside_the_graph_without_a_rule_the_critics_show_only_what_they_were_given():
    from oyster_agents.backends.calls import RoleRuntime
    from oyster_agents.backends.fake import ScriptedChatModel
    from oyster_agents.config import RoleModelConfig
    from oyster_agents.nodes.safety_critic import review_safety
    from oyster_agents.nodes.satisfaction_critic import rate_satisfaction

    cfg = RoleModelConfig(backend="fake", retry_backoff_s=0)
    safety = ScriptedChatModel(role="safety_critic", script=[s.safety("safe")])
    judged = review_safety(RoleRuntime("safety_critic", safety, cfg), QUERY, ANSWER, GUIDE).value
    prompt = safety.calls[0][-1].content
    assert f"Safety guideline:\n{GUIDE}" in prompt and "Policy rule" not in prompt and "Earlier conversation" not in prompt
    assert judged.verdict.value == "safe"
    satisfaction = ScriptedChatModel(role="satisfaction_critic", script=[s.rubric([1] * 5)])
    rated = rate_satisfaction(RoleRuntime("satisfaction_critic", satisfaction, cfg), QUERY, ANSWER).value
    prompt = satisfaction.calls[0][-1].content
    assert "What the answer may not do" not in prompt and "Earlier conversation" not in prompt
    assert QUERY in prompt and ANSWER in prompt and rated.score == 1.0


def test_the_reviser_sees_the_policy_rule():
    _, models = run(safety_critic=[s.safety("borderline")], max_steps=2)
    rule = load_taxonomy().rule_for("healthcare")[1]
    user = models["reviser"].calls[-1][-1].content
    assert f"Policy rule (the guideline may narrow it, never loosen it):\n{rule.strip().splitlines()[0]}" in user


def test_the_critic_nodes_work_on_a_bare_state():
    from oyster_agents.backends.calls import RoleRuntime
    from oyster_agents.backends.fake import ScriptedChatModel
    from oyster_agents.config import RoleModelConfig
    from oyster_agents.nodes.safety_critic import make_safety_critic
    from oyster_agents.nodes.satisfaction_critic import make_satisfaction_critic
    from oyster_agents.schemas import Draft, RiskAssessment

    cfg = RoleModelConfig(backend="fake", retry_backoff_s=0)
    state = {"query": QUERY, "draft": Draft(answer=ANSWER),
             "assessment": RiskAssessment.model_validate_json(s.assessment(adapted_guideline=GUIDE))}
    safety = ScriptedChatModel(role="safety_critic", script=[s.safety("borderline")])
    update = make_safety_critic(RoleRuntime("safety_critic", safety, cfg), load_taxonomy())(state)
    assert update["safety"].verdict.value == "borderline" and len(update["usage"]) == 1
    assert load_taxonomy().rule_for("healthcare")[1].strip().splitlines()[0] in safety.calls[0][-1].content
    # the rule the run grounded its boundary in wins over the policy file's
    make_safety_critic(RoleRuntime("safety_critic", safety, cfg), load_taxonomy())({**state, "policy_rule": "Rule-X1."})
    assert "Policy rule (the answer must respect every point):\nRule-X1." in safety.calls[1][-1].content
    satisfaction = ScriptedChatModel(role="satisfaction_critic", script=[s.rubric([0, 1, 0, 1, 0])])
    update = make_satisfaction_critic(RoleRuntime("satisfaction_critic", satisfaction, cfg))(state)
    assert update["satisfaction"].score == 0.4 and update["fallbacks"] == []
    assert "Earlier conversation" not in satisfaction.calls[0][-1].content
    assert "What the answer may not do" not in satisfaction.calls[0][-1].content  # no rule in this state
