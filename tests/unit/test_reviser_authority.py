"""The reviser's authority rules and trust region, on hand-made chains (no model)."""

from __future__ import annotations

from oyster_agents.nodes.reviser import apply_revision, revision_mode
from oyster_agents.schemas import ChainRevision, ReasoningChain, SafetyJudgment, SafetyVerdict

GUIDE = "Correct the alcohol-rub myth and give safe fever care."
CHAIN = ReasoningChain(
    user_need="Bring a toddler's fever down safely.",
    risk_intent="Following a dangerous home remedy.",
    guideline=GUIDE,
    usefulness_strategies=["explain safe fever care", "say when to call a doctor"],
    safety_strategies=["warn that alcohol is absorbed through skin", "do not give doses"],
)


def proposal(**changes) -> ChainRevision:
    data = {
        "rationale": "r",
        "usefulness_strategies": list(CHAIN.usefulness_strategies),
        "safety_strategies": list(CHAIN.safety_strategies),
        "guideline": CHAIN.guideline,
        "risk_intent": CHAIN.risk_intent,
        "user_need": CHAIN.user_need,
    }
    data.update(changes)
    return ChainRevision(**data)


def kinds(notes) -> list[tuple[str, str]]:
    return [(n.kind, n.detail) for n in notes]


def test_mode_follows_the_safety_score():
    def judged(verdict: str) -> SafetyJudgment:
        return SafetyJudgment(verdict=SafetyVerdict(verdict), explanation="", suggestion="")

    assert revision_mode(judged("safe")) == "satisfaction"
    assert revision_mode(judged("borderline")) == "safety"
    assert revision_mode(judged("unsafe")) == "safety"


def test_safety_mode_may_edit_every_node():
    new = proposal(
        usefulness_strategies=["explain safe fever care", "say when to call a nurse line"],
        safety_strategies=["warn that alcohol is absorbed through skin", "never name a dose"],
        guideline="Only general fever care; no doses at all.",
        risk_intent="Overdosing a child.",
        user_need="Keep the child safe tonight.",
    )
    chain, notes = apply_revision(CHAIN, new, "safety")
    assert chain == ReasoningChain(
        user_need="Keep the child safe tonight.",
        risk_intent="Overdosing a child.",
        guideline="Only general fever care; no doses at all.",
        usefulness_strategies=["explain safe fever care", "say when to call a nurse line"],
        safety_strategies=["warn that alcohol is absorbed through skin", "never name a dose"],
    )
    assert notes == []


def test_safety_mode_keeps_nodes_the_proposal_leaves_blank_or_too_short():
    short = "x" * 19  # a guideline under 20 characters is no guideline
    single = CHAIN.model_copy(update={"usefulness_strategies": ["explain safe fever care"],
                                      "safety_strategies": ["do not give doses"]})
    chain, _ = apply_revision(single, proposal(guideline=short, risk_intent="  ", user_need=" ",
                                               usefulness_strategies=[], safety_strategies=[]), "safety")
    assert chain == single  # emptied lists (one removal each, inside the trust region) keep the old ones
    exact = "y" * 20
    assert apply_revision(CHAIN, proposal(guideline=exact), "safety")[0].guideline == exact


def test_trust_region_cuts_each_list_and_says_so():
    greedy = proposal(
        usefulness_strategies=["a", "b", "c"],
        safety_strategies=["warn that alcohol is absorbed through skin", "do not give doses", "x", "y"],
    )
    chain, notes = apply_revision(CHAIN, greedy, "safety")
    assert len(chain.usefulness_strategies) == 2
    assert len(set(chain.usefulness_strategies) - set(CHAIN.usefulness_strategies)) == 1
    assert chain.safety_strategies == [*CHAIN.safety_strategies, "x"]
    assert kinds(notes) == [("trust_region", "usefulness: 3 changes cut to 1"),
                            ("trust_region", "safety: 2 changes cut to 1")]


def test_satisfaction_mode_freezes_intent_and_guideline():
    new = proposal(guideline="Anything goes for this parent now.", risk_intent="", user_need="Fast relief.",
                   usefulness_strategies=["explain safe fever care", "give home treatment"])
    chain, notes = apply_revision(CHAIN, new, "satisfaction")
    assert (chain.guideline, chain.risk_intent) == (CHAIN.guideline, CHAIN.risk_intent)
    assert chain.user_need == "Fast relief."
    assert chain.usefulness_strategies == ["explain safe fever care", "give home treatment"]
    assert kinds(notes) == [("authority", "risk intent/guideline edits ignored in satisfaction mode")]
    # a blank or merely re-spaced guideline is no edit, so nothing to report
    _, quiet = apply_revision(CHAIN, proposal(guideline=f"  {GUIDE} ", risk_intent=""), "satisfaction")
    assert quiet == []


def test_satisfaction_mode_may_relax_a_safety_strategy_but_not_add_one():
    reworded = proposal(safety_strategies=["warn that alcohol is absorbed through skin", "give only general doses"])
    assert apply_revision(CHAIN, reworded, "satisfaction")[0].safety_strategies == reworded.safety_strategies
    removed = proposal(safety_strategies=["warn that alcohol is absorbed through skin"])
    assert apply_revision(CHAIN, removed, "satisfaction")[0].safety_strategies == removed.safety_strategies
    added = proposal(safety_strategies=[*CHAIN.safety_strategies, "add a disclaimer"])
    chain, notes = apply_revision(CHAIN, added, "satisfaction")
    assert chain.safety_strategies == CHAIN.safety_strategies and notes == []
    # in safety mode the same addition stands
    assert apply_revision(CHAIN, added, "safety")[0].safety_strategies == added.safety_strategies


def test_the_last_safety_strategy_cannot_be_removed():
    one = CHAIN.model_copy(update={"safety_strategies": ["do not give doses"]})
    chain, notes = apply_revision(one, proposal(safety_strategies=[]), "satisfaction")
    assert chain.safety_strategies == ["do not give doses"]
    assert kinds(notes) == [("authority", "the last safety strategy cannot be removed")]
    # an emptied usefulness list also keeps the old one
    lone = one.model_copy(update={"usefulness_strategies": ["explain safe fever care"]})
    assert apply_revision(lone, proposal(usefulness_strategies=[]), "satisfaction")[0].usefulness_strategies == \
        ["explain safe fever care"]


def test_the_reviser_node_with_a_bare_state_prompts_without_rule_or_reactions():
    from oyster_agents.backends.calls import RoleRuntime
    from oyster_agents.backends.fake import ScriptedChatModel
    from oyster_agents.config import RoleModelConfig
    from oyster_agents.nodes.reviser import make_reviser
    from oyster_agents.schemas import Draft, RubricScores, SatisfactionJudgment

    model = ScriptedChatModel(role="reviser", script=[proposal(rationale="x" * 600).model_dump_json()])
    revise = make_reviser(RoleRuntime("reviser", model, RoleModelConfig(backend="fake", retry_backoff_s=0)))
    state = {
        "query": "q", "chain": CHAIN, "draft": Draft(answer="an answer"),
        "safety": SafetyJudgment(verdict=SafetyVerdict.BORDERLINE, explanation="e", suggestion="s"),
        "satisfaction": SatisfactionJudgment(scores=RubricScores(empathy=1, willingness_to_help=0, task_completion=-1,
                                                                 relevance=0, informativeness=0)),
    }
    update = revise(state)
    system, user = (m.content for m in model.calls[0])
    assert '"usefulness_strategies"' in system and "safety mode" in system
    assert "Policy rule" not in user and "Predicted reactions" not in user
    assert "Rubric: empathy +1, willingness_to_help +0, task_completion -1" in user
    assert update["chain"] == CHAIN and update["revision_fallback"] is False and update["origin"] == "revised"
    assert update["revision_note"] == "[safety] " + "x" * 491  # cut to 500 characters
