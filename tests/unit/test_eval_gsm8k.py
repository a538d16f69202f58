"""GSM8K: reading the final number from tricky answers, the loader, accuracy, and the CLI on a local server."""

from __future__ import annotations

import json

import pytest

from oyster_agents.cli import main
from oyster_agents.errors import InputError
from oyster_agents.eval.gsm8k import extract_answer, load_gsm8k, normalize_number, reference_answer, score_answer
from oyster_agents.eval.records import EvalItem, ItemRecord, Suite, Verdicts
from oyster_agents.eval.records import ITEMS_FILE, read_records
from oyster_agents.eval.summaries import gsm8k_summary
from tests._servers import OpenAICompatServer


@pytest.mark.parametrize(("text", "expected"), [
    ("She makes 9 * 2 = $18 every day.", "18"),                      # last number, currency sign
    ("The total is 1,234 apples.", "1234"),                          # thousands comma
    ("It costs $1,200.50 in all.", "1200.5"),                        # comma, decimals, $
    ("5.00", "5"),                                                   # trailing zeros
    ("He walks 12 km, then 3 km more: 15 km.", "15"),                # units, several numbers
    ("The answer is 42. Check: 40 + 2 = 42, and 7 * 6 = 42; 100 is wrong.", "42"),  # phrase beats last number
    ("Working: 16-3-4 = 9\n#### 9\nThat is 9 eggs, not 10.", "9"),   # #### marker first
    ("The answer is: -7 degrees.", "-7"),                            # negative after a phrase
    ("16-3 leaves 13", "13"),                                        # a hyphen between numbers is no minus
    ("The temperature fell to -4.", "-4"),                           # a sign after a space is a minus
    ("Final answer: \\boxed{72}", "72"),
    ("So the result is 0.50 dollars.", "0.5"),
    ("She has 45% left, i.e. 45", "45"),
    ("I cannot tell.", None),                                        # no number at all
    ("", None),
    ("Answer \u2212 3 is odd; answer is \u22123", "-3"),                 # Unicode minus
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_normalize_and_reference():
    assert normalize_number("1,000") == "1000" and normalize_number("-0.0") == "0" and normalize_number("x") is None
    assert reference_answer("16 - 3 - 4 = 9\n#### 18") == "18"
    assert reference_answer("no marker 5") is None


def test_score_answer_exact_match():
    item = EvalItem(id="g", suite=Suite.GSM8K, query="q", reference="18")
    assert score_answer(item, "She earns $18.00 a day.").correct is True
    assert score_answer(item, "She earns 18 dollars, or 126 a week.").correct is False  # last number is 126
    wrong = score_answer(item, "No idea.")
    assert (wrong.extracted, wrong.correct) == (None, False)


def test_loader(tmp_path):
    path = tmp_path / "test.jsonl"
    rows = [{"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"},
            {"question": "What is 1000 + 1000?", "answer": "#### 2,000"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    items = load_gsm8k(tmp_path)  # a folder: its test.jsonl
    assert [(i.id, i.query, i.reference) for i in items] == [("test-1", "What is 2 + 3?", "5"),
                                                              ("test-2", "What is 1000 + 1000?", "2000")]
    path.write_text(json.dumps({"question": "q", "answer": "no final line"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="####"):
        load_gsm8k(path)
    path.write_text(json.dumps({"prompt": "q"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="question"):
        load_gsm8k(path)


def test_summary_counts_errors_apart():
    def row(i: int, correct: bool | None, extracted: str | None = "1", error: str | None = None) -> ItemRecord:
        return ItemRecord(target="t", target_spec="t", suite=Suite.GSM8K, error=error,
                          item=EvalItem(id=f"g{i}", suite=Suite.GSM8K, query="q", reference="1"),
                          verdicts=Verdicts(extracted=extracted, correct=correct))

    s = gsm8k_summary([row(0, True), row(1, False, None), row(2, False, "3"), row(3, True), row(4, None, None, "boom")])
    assert (s.n, s.errors, s.answered, s.correct, s.no_number) == (5, 1, 4, 2, 1)
    assert s.accuracy.value == 0.5 and s.accuracy.low < 0.5 < s.accuracy.high


def _reply(body: dict) -> str:
    question = body["messages"][-1]["content"]
    if body["model"] == "good":
        return "Adding up, the answer is 5." if "2 + 3" in question else "That makes 2,000 in all."
    return "I think it is 4."


def test_cli_compare_mode_resume_and_error_rows(tmp_path):
    data = tmp_path / "test.jsonl"
    rows = [{"question": "What is 2 + 3?", "answer": "#### 5"}, {"question": "What is 1000 + 1000?", "answer": "#### 2000"},
            {"question": "How many legs have 2 cats?", "answer": "#### 8"}]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with OpenAICompatServer(models=("good", "bad"), reply=_reply,
                            behaviour=lambda body, n: "fail" if "cats" in json.dumps(body) else None) as server:
        argv = ["eval", "gsm8k", "--data", str(data), "--out", str(out), "--no-progress", "--limit", "3",
                "--target", f"base=openai:{server.base_url}:bad", "--target", f"good=openai:{server.base_url}:good",
                "--set", "roles.default.max_retries=0"]
        assert main(argv) == 1  # the cats item fails for both targets: error rows
        records = read_records(out / ITEMS_FILE)
        assert len(records) == 6 and sum(1 for r in records if r.error) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["good"]["gsm8k"]["correct"] == 2 and summary["base"]["gsm8k"]["correct"] == 0
    assert summary["good"]["gsm8k"]["errors"] == 1
    diff = [c for c in json.loads((out / "compare.json").read_text()) if c["metric"] == "gsm8k_accuracy"]
    assert diff[0]["target"] == "good" and diff[0]["reference"] == "base" and diff[0]["value"] == 1.0 and diff[0]["n"] == 2
    md = (out / "report.md").read_text()
    assert "## General capability (GSM8K)" in md and "(plots/gsm8k_accuracy.png)" in md

    with OpenAICompatServer(models=("good", "bad"), reply=lambda body: "The answer is 8.") as server:
        argv[argv.index("--target") + 1] = f"base=openai:{server.base_url}:bad"
        argv[argv.index("--target", argv.index("--target") + 1) + 1] = f"good=openai:{server.base_url}:good"
        assert main(argv) == 0  # only the two failed items are retried
        assert len(server.requests) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["good"]["gsm8k"]["correct"] == 3 and summary["base"]["gsm8k"]["correct"] == 1


def test_graph_target_on_gsm8k_needs_no_judge_shows_progress_and_keeps_traces(tmp_path, fake_models, capsys):
    from oyster_agents.config import OysterConfig
    from oyster_agents.eval.run import run_eval
    from oyster_agents.eval.targets import parse_target

    items = [EvalItem(id=f"g{i}", suite=Suite.GSM8K, query=f"What is {i} + {i}?", reference=str(2 * i)) for i in (1, 2)]
    models = fake_models({"responder": ["<think>add</think>The answer is 2."]})
    out = tmp_path / "out"
    run = run_eval({Suite.GSM8K: items}, [parse_target("graph")], out, config=OysterConfig(loop={"max_steps": 1}),
                   models=models, judge_models={}, progress=True)  # an empty judge would fail if it were built
    assert (run.written, run.errors) == (2, 0)
    assert "eval graph" in capsys.readouterr().err
    records = {r.item.id: r for r in read_records(out / ITEMS_FILE)}
    assert records["g1"].verdicts.correct is True and records["g2"].verdicts.correct is False
    index = json.loads((out / "traces" / "index.json").read_text())
    assert [(e["item"], e["path"]) for e in sorted(index, key=lambda e: e["item"])] == [
        ("g1", "traces/graph/gsm8k/g1.json"), ("g2", "traces/graph/gsm8k/g2.json")]
    trace = json.loads((out / "traces/graph/gsm8k/g1.json").read_text())
    assert trace["query"] == "What is 1 + 1?" and trace["answer"] == records["g1"].answer
