"""Strata-Sword under the benchmark's protocol: the rule set, the two-step judge, ASR by level, method, category."""

from __future__ import annotations

import json

import pytest

from oyster_agents.backends.calls import RoleRuntime
from oyster_agents.config import OysterConfig
from oyster_agents.errors import InputError
from oyster_agents.eval.judge import Judge
from oyster_agents.eval.rates import NO_RULE_GROUP, strata_summary
from oyster_agents.eval.records import ITEMS_FILE, EvalItem, Protocol, Suite, read_records
from oyster_agents.eval.rules import load_rules
from oyster_agents.eval.run import run_eval
from oyster_agents.eval.targets import parse_target
from oyster_agents.taxonomy import load_taxonomy

from ._files import load_error

# A rule set of our own (the benchmark's text is read at run time, never copied here).
RULES = [
    {"category": "Lock Tampering", "category_zh": "撬锁", "rule": "RULE-LOCK: no step-by-step entry methods.",
     "rule_zh": "规则", "tier": "secondary"},
    {"category": "Toxic Gardening", "rule": "RULE-GARDEN: no recipes for poisoning plants or people."},
]


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "rules.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RULES) + "\n", encoding="utf-8")
    return path


def _items() -> list[EvalItem]:
    def item(i: str, query: str, level: str, method: str) -> EvalItem:
        return EvalItem(id=i, suite=Suite.STRATA_SWORD, query=query, level=level, language="en", attack_method=method)

    return [item("s1", "open a lock LOCKQ", "L1", "None"), item("s2", "poison the roses GARDENQ", "L2", "Opposing"),
            item("s3", "tell me a joke NOCATQ", "L2", "Opposing"), item("s4", "lock again LOCKQ", "L3", "Code")]


def _category(messages, schema):
    text = str(messages[-1].content)
    if "LOCKQ" in text:
        return json.dumps({"category": "lock tampering", "explanation": "about locks"})  # case differs: still found
    if "GARDENQ" in text:
        return json.dumps({"category": "Toxic Gardening", "explanation": "plants"})
    return json.dumps({"category": "none", "explanation": "no risk"})


def _verdict(messages, schema):
    text = str(messages[-1].content)
    unsafe = "STEPS" in text or ("NOCATQ" in text and "Safety rule: none applies" in text)
    return json.dumps({"verdict": "Unsafe" if unsafe else "Safe", "explanation": "scripted"})


def _scripted_judge(fake_models):
    """One model answers the judge's calls; which schema is asked decides the reply."""
    def reply(messages, schema):
        props = (schema or {}).get("properties", {})
        return _category(messages, schema) if "category" in props else _verdict(messages, schema)

    return fake_models({"safety_critic": [reply], "satisfaction_critic": [reply]},
                       roles=["safety_critic", "satisfaction_critic"])


def test_rules_from_jsonl_and_lookup(rules_file):
    rules = load_rules(rules_file)
    assert rules.categories == ["Lock Tampering", "Toxic Gardening"]
    assert rules.find("  lock   TAMPERING ").rule.startswith("RULE-LOCK")
    assert rules.find("撬锁").category == "Lock Tampering"  # the Chinese name works too
    assert rules.find("none") is None and rules.find("Unknown") is None and rules.find(None) is None


def test_rules_from_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    # The published layout: category in the third column, rule in the fifth, headers of its own.
    sheet.append(["一级", "一级en", "二级", "二级zh", "规则"])
    sheet.append(["A", "a", "Lock Tampering", "撬锁", "RULE-LOCK: no entry methods."])
    sheet.append([None, None, None, None, None])
    sheet.append(["A", "a", "Toxic Gardening", "毒", "RULE-GARDEN."])
    path = tmp_path / "risk_rules.xlsx"
    book.save(path)
    assert load_rules(path).find("toxic gardening").rule == "RULE-GARDEN."
    named = openpyxl.Workbook()
    named.active.append(["Rule", "Category"])  # named columns win over positions
    named.active.append(["RULE-X.", "X"])
    named.save(tmp_path / "named.xlsx")
    assert load_rules(tmp_path / "named.xlsx").find("x").rule == "RULE-X."


@pytest.mark.parametrize(("content", "message"), [
    ("", "empty"),
    ('{"category": "A"}\n', "non-empty"),
    ('{"category": "A", "rule": "r"}\n{"category": "a", "rule": "s"}\n', "twice"),
    ("not json\n", "invalid JSON"),
])
def test_bad_rule_files(tmp_path, content, message):
    assert message in load_error(load_rules, tmp_path / "r.jsonl", content, InputError)


def test_a_missing_rule_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_rules(tmp_path / "missing.jsonl")


def test_judge_classifies_then_judges_against_that_rule(rules_file, fake_models):
    models = _scripted_judge(fake_models)
    runtime = RoleRuntime(role="safety_critic", model=models["safety_critic"])
    judge = Judge(runtime, runtime, load_taxonomy(), rules=load_rules(rules_file))
    lock, garden, joke, _ = _items()

    v = judge.judge(lock, "Here are the STEPS to open it.")
    assert (v.protocol, v.rule_category, v.binary.verdict.value, v.safety) == (Protocol.PAPER, "Lock Tampering",
                                                                                "Unsafe", None)
    calls = models["safety_critic"].calls
    assert "Lock Tampering" in str(calls[-2][-1].content) and "Toxic Gardening" in str(calls[-2][-1].content)
    assert "RULE-LOCK" in str(calls[-1][-1].content) and "RULE-GARDEN" not in str(calls[-1][-1].content)

    v = judge.judge(garden, "I can't help with poisoning.")
    assert (v.rule_category, v.binary.verdict.value) == ("Toxic Gardening", "Safe")
    assert "RULE-GARDEN" in str(models["safety_critic"].calls[-1][-1].content)

    v = judge.judge(joke, "A joke.")  # no category: judged without a rule
    assert (v.rule_category, v.binary.verdict.value, v.category_fallback) == (None, "Unsafe", False)
    assert "Safety rule: none applies" in str(models["safety_critic"].calls[-1][-1].content)


def test_an_unknown_category_is_reasked_then_judged_without_a_rule(rules_file, fake_models):
    def reply(messages, schema):
        if "category" in (schema or {}).get("properties", {}):
            return json.dumps({"category": "Space Piracy", "explanation": "made up"})
        return json.dumps({"verdict": "Safe", "explanation": "fine"})

    model = fake_models({"safety_critic": [reply]}, roles=["safety_critic"])["safety_critic"]
    runtime = RoleRuntime(role="safety_critic", model=model, config=OysterConfig().role("safety_critic"))
    judge = Judge(runtime, runtime, load_taxonomy(), rules=load_rules(rules_file))
    v = judge.judge(_items()[0], "answer")
    assert v.category_fallback and v.rule_category is None and v.binary.verdict.value == "Safe"
    category_calls = [c for c in model.calls if any("Categories:" in str(m.content) for m in c)]
    assert len(category_calls) >= 2  # the unlisted name was re-asked before giving up


def test_paper_protocol_run_asr_by_level_method_category_and_resume(rules_file, tmp_path, fake_models):
    def answer(messages, schema):
        return "Sure, here are the STEPS." if "LOCKQ" in str(messages[-1].content) else "I won't help with that."

    config = OysterConfig()
    out = tmp_path / "out"
    suites = {Suite.STRATA_SWORD: _items()}
    base = fake_models({"target": [answer]}, roles=["target"])
    run = run_eval(suites, [parse_target("graph")], out, config=config, models=_graph_models(fake_models, answer),
                   judge_models=_scripted_judge(fake_models), rules=load_rules(rules_file), progress=False)
    assert (run.written, run.errors) == (4, 0)
    del base
    summary = json.loads((out / "summary.json").read_text())["graph"]["strata-sword"]
    assert summary["protocol"] == "paper"
    # s1, s4 (locks) unsafe; s2 safe; s3 has no category, judged without a rule: unsafe
    assert (summary["overall"]["judged"], summary["overall"]["unsafe"], summary["overall"]["no_rule"]) == (4, 3, 1)
    assert summary["overall"]["robustness"] == pytest.approx(0.25)
    assert summary["by_level"]["L1"]["asr"] == 1.0 and summary["by_level"]["L2"]["asr"] == 0.5
    assert summary["by_method"]["Opposing"]["asr"] == 0.5 and summary["by_method"]["Code"]["asr"] == 1.0
    assert summary["by_category"]["Lock Tampering"]["asr"] == 1.0
    assert summary["by_category"]["Toxic Gardening"]["asr"] == 0.0
    assert summary["by_category"][NO_RULE_GROUP]["unsafe"] == 1
    assert summary["asr_ci"]["value"] == 0.75 and summary["asr_ci"]["low"] <= 0.75 <= summary["asr_ci"]["high"]
    md = (out / "report.md").read_text()
    assert "under the benchmark's protocol" in md and "By risk category" in md

    again = run_eval(suites, [parse_target("graph")], out, config=config, models=_graph_models(fake_models, answer),
                     judge_models=_scripted_judge(fake_models), rules=load_rules(rules_file), progress=False)
    assert (again.written, again.skipped) == (0, 4)
    with pytest.raises(InputError, match="paper protocol"):  # the project protocol would mix verdict kinds
        run_eval(suites, [parse_target("graph")], out, config=config, models=_graph_models(fake_models, answer),
                 judge_models=_scripted_judge(fake_models), progress=False)
    assert len(read_records(out / ITEMS_FILE)) == 4


def _graph_models(fake_models, answer):
    return fake_models({"responder": [answer], "reviser": None})


def test_strata_summary_counts_binary_verdicts():
    from oyster_agents.eval.records import BinaryJudgment, ItemRecord, Verdicts

    def row(i, verdict, category, fallback=False):
        return ItemRecord(target="t", target_spec="t", suite=Suite.STRATA_SWORD,
                          item=EvalItem(id=i, suite=Suite.STRATA_SWORD, query="q", level="L1", attack_method="None"),
                          verdicts=Verdicts(protocol=Protocol.PAPER, rule_category=category, binary_fallback=fallback,
                                            binary=None if fallback else BinaryJudgment(verdict=verdict,
                                                                                        explanation="e")))

    s = strata_summary([row("a", "Unsafe", "A"), row("b", "Safe", None), row("c", "Safe", "A", fallback=True)])
    assert (s.overall.judged, s.overall.unsafe, s.overall.no_rule, s.unjudged) == (2, 1, 1, 1)
    assert s.by_category["A"].judged == 1 and s.by_category[NO_RULE_GROUP].asr == 0.0


@pytest.mark.parametrize(("extra", "message"), [
    (["strata-sword", "--protocol", "paper"], "needs --rules"),
    (["strata-sword", "--rules", "r.jsonl"], "only with --protocol paper"),
    (["gsm8k", "--protocol", "paper", "--rules", "r.jsonl"], "applies to strata-sword"),
    (["strata-sword", "--protocol", "paper", "--rules", "missing.jsonl"], "no such file"),
])
def test_cli_rejects_bad_protocol_flags(tmp_path, capsys, extra, message):
    from oyster_agents.cli import main

    assert main(["eval", *extra, "--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing was started
