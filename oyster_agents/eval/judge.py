"""The evaluation judge: the project's critics (safety, satisfaction) plus a refusal classifier.

It reuses the graph's own judging calls (``review_safety``, ``rate_satisfaction``) on any configured
model, typically a larger one than the target, and keeps each verdict with its explanation.
Which judgments an item gets depends on its suite:

- constructive: safety against the item's category guideline, and the satisfaction rubric;
- xstest: the refusal class (full compliance / partial refusal / full refusal) and the string-match baseline;
- strata-sword, project protocol (default): safety against the guideline of the item's risk type, else
  the default guideline;
- strata-sword, paper protocol (``rules`` given): the query's category classified among the rule set's
  (:func:`classify_category`), then a binary Safe / Unsafe verdict against that category's rule
  (:func:`judge_against_rule`; no category found: judged without a rule, and counted apart);
- gsm8k: exact match of the final number, no model (:func:`oyster_agents.eval.gsm8k.score_answer`).

The judge sees an item's labels (category, risk type); targets never do.
"""

from __future__ import annotations

from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from oyster_agents.backends import ModelPool
from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.backends.structured import Structured, invoke_structured
from oyster_agents.config import OysterConfig, Role
from oyster_agents.errors import ConfigError, MalformedOutputError
from oyster_agents.eval.gsm8k import score_answer
from oyster_agents.eval.records import (
    BinaryJudgment,
    EvalItem,
    Protocol,
    RefusalJudgment,
    RiskCategoryChoice,
    Suite,
    Verdicts,
)
from oyster_agents.eval.rules import NO_RULE, RiskRule, RuleSet
from oyster_agents.eval.string_match import string_match_refusal
from oyster_agents.nodes.safety_critic import review_safety
from oyster_agents.nodes.satisfaction_critic import rate_satisfaction
from oyster_agents.prompts import render, schema_hint
from oyster_agents.taxonomy import NONE_CATEGORY, Taxonomy, load_taxonomy

REFUSAL_ROLE = "refusal_judge"
CATEGORY_ROLE = "rule_category"
VERDICT_ROLE = "rule_verdict"


def classify_refusal(runtime: RoleRuntime, query: str, answer: str) -> Structured[RefusalJudgment]:
    """Classify one answer as full compliance, partial refusal or full refusal.

    Raises:
        MalformedOutputError: the judge never produced a valid classification.
    """
    messages = [
        SystemMessage(content=render(REFUSAL_ROLE, "system", schema=schema_hint(RefusalJudgment))),
        HumanMessage(content=render(REFUSAL_ROLE, "user", query=query, answer=answer)),
    ]
    return invoke_structured(runtime, messages, RefusalJudgment)


def classify_category(runtime: RoleRuntime, rules: RuleSet, query: str) -> Structured[RiskCategoryChoice]:
    """The paper protocol's first step: the query's category among ``rules`` (or ``none``).

    Decoding is constrained to the rule set's names; a name that still does not match is re-asked.

    Raises:
        MalformedOutputError: the judge never named a category of the list.
    """
    names = rules.categories

    def known(choice: RiskCategoryChoice) -> RiskCategoryChoice:
        if choice.category.strip().casefold() != NO_RULE and rules.find(choice.category) is None:
            raise ValueError(f"category must be one of the listed names or 'none', got {choice.category!r}")
        return choice

    messages = [
        SystemMessage(content=render(CATEGORY_ROLE, "system", schema=schema_hint(RiskCategoryChoice))),
        HumanMessage(content=render(CATEGORY_ROLE, "user", categories=names, query=query)),
    ]
    return invoke_structured(runtime, messages, RiskCategoryChoice, postprocess=known,
                             schema_overrides={"category": {"enum": [*names, NO_RULE]}})


def judge_against_rule(runtime: RoleRuntime, query: str, answer: str, rule: RiskRule | None) -> Structured[BinaryJudgment]:
    """The paper protocol's second step: Safe / Unsafe against ``rule`` (general harm when None).

    Raises:
        MalformedOutputError: the judge never produced a valid verdict.
    """
    messages = [
        SystemMessage(content=render(VERDICT_ROLE, "system", schema=schema_hint(BinaryJudgment))),
        HumanMessage(content=render(VERDICT_ROLE, "user", query=query, answer=answer,
                                    rule=rule.rule if rule else "", category=rule.category if rule else "")),
    ]
    return invoke_structured(runtime, messages, BinaryJudgment)


class Judge:
    """Judges a target's answers for every suite.

    Args:
        safety: runtime of the safety critic role (also used for the refusal class and the paper protocol).
        satisfaction: runtime of the satisfaction critic role.
        taxonomy: the policy whose guidelines the safety verdicts are made against.
        rules: a benchmark rule set; given, Strata-Sword is judged by the paper protocol.
    """

    def __init__(self, safety: RoleRuntime, satisfaction: RoleRuntime, taxonomy: Taxonomy,
                 rules: RuleSet | None = None) -> None:
        self.safety = safety
        self.satisfaction = satisfaction
        self.refusal = self._sibling(REFUSAL_ROLE)
        self.category = self._sibling(CATEGORY_ROLE)
        self.verdict = self._sibling(VERDICT_ROLE)
        self.taxonomy = taxonomy
        self.rules = rules

    @property
    def protocol(self) -> Protocol:
        """How Strata-Sword answers are judged."""
        return Protocol.PAPER if self.rules is not None else Protocol.PROJECT

    def _sibling(self, role: str) -> RoleRuntime:
        s = self.safety
        return RoleRuntime(role=role, model=s.model, config=s.config, wrappers=list(s.wrappers))

    def guideline(self, item: EvalItem) -> str:
        """The guideline an answer to ``item`` is judged against (category, risk type, or the default)."""
        label = item.category or item.risk_type or NONE_CATEGORY
        category = self.taxonomy.resolve(label) or NONE_CATEGORY
        return self.taxonomy.guideline_for(category)

    def judge(self, item: EvalItem, answer: str) -> Verdicts:
        """The verdicts ``item``'s suite asks for.

        Raises:
            BackendError: a judge model kept failing (the runner records it as an error row).
        """
        if item.suite is Suite.GSM8K:
            return score_answer(item, answer)
        if item.suite is Suite.STRATA_SWORD and self.rules is not None:
            return self._paper(item, answer)
        verdicts = Verdicts()
        if item.suite is Suite.STRATA_SWORD:
            verdicts.protocol = Protocol.PROJECT
        if item.suite in (Suite.CONSTRUCTIVE, Suite.STRATA_SWORD):
            result = review_safety(self.safety, item.query, answer, self.guideline(item), history=item.history)
            verdicts.safety, verdicts.safety_fallback = result.value, result.used_fallback
            verdicts.judge_models.append(self.safety.model_name)
        if item.suite is Suite.CONSTRUCTIVE:
            rated = rate_satisfaction(self.satisfaction, item.query, answer, history=item.history)
            verdicts.satisfaction, verdicts.satisfaction_fallback = rated.value, rated.used_fallback
            verdicts.judge_models.append(self.satisfaction.model_name)
        if item.suite is Suite.XSTEST:
            verdicts.string_refusal = string_match_refusal(answer)
            try:
                verdicts.refusal = classify_refusal(self.refusal, item.query, answer).value
            except MalformedOutputError:
                verdicts.refusal_fallback = True
            verdicts.judge_models.append(self.refusal.model_name)
        verdicts.judge_models = list(dict.fromkeys(verdicts.judge_models))
        return verdicts

    def _paper(self, item: EvalItem, answer: str) -> Verdicts:
        assert self.rules is not None
        verdicts = Verdicts(protocol=Protocol.PAPER, judge_models=[self.safety.model_name])
        rule = None
        try:
            choice = classify_category(self.category, self.rules, item.query).value
            rule = self.rules.find(choice.category)
        except MalformedOutputError:
            verdicts.category_fallback = True
        verdicts.rule_category = rule.category if rule else None
        try:
            verdicts.binary = judge_against_rule(self.verdict, item.query, answer, rule).value
        except MalformedOutputError:
            verdicts.binary_fallback = True
        return verdicts


def make_judge(
    config: OysterConfig,
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    pool: ModelPool | None = None,
    taxonomy: Taxonomy | None = None,
    rules: RuleSet | None = None,
) -> Judge:
    """Build the judge from a config's ``safety_critic`` and ``satisfaction_critic`` roles.

    Args:
        config: the judge configuration (``--judge FILE``, else the run's own config).
        models: optional role → chat model (e.g. scripted fakes); built from ``config`` if absent.
        pool: shares loaded models with the targets of the same run.
        taxonomy: the policy; defaults to ``config.policy_path`` or the shipped one.
        rules: a benchmark rule set for the paper protocol (Strata-Sword).
    """
    pool = pool or ModelPool()
    runtimes = {}
    for role in (Role.SAFETY_CRITIC, Role.SATISFACTION_CRITIC):
        if models is not None:
            model = models.get(role.value) or models.get("default")
            if model is None:
                raise ConfigError(f"no judge model for role '{role.value}': pass models['{role.value}'] or models['default']")
        else:
            model = pool.get(config.role(role))
        runtimes[role] = RoleRuntime(role=role.value, model=model, config=config.role(role))
    return Judge(runtimes[Role.SAFETY_CRITIC], runtimes[Role.SATISFACTION_CRITIC],
                 taxonomy or load_taxonomy(config.policy_path), rules=rules)
