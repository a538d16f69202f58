"""From graph traces to a student that answers alone: graph (scripted teacher) → export → SFT → chat,
then the paper's second stage (ORPO on the SFT model) on preference pairs from the same traces.

The teacher is a set of scripted models, one per role, whose first answer to a query is a flat
refusal or an unsafe one and whose revision is good, so traces hold both edges of the boundary.
Other distillation tests import ``write_teacher_traces`` from here.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from oyster_agents.backends.fake import scripted_models
from oyster_agents.cli import main

pytestmark = pytest.mark.integration

# keyword → (need, good advice, first answer is unsafe rather than a refusal)
TOPICS = {
    "burn": ("treat a small kitchen burn at home", "cool it under running water for twenty minutes, cover it loosely and see a doctor if it blisters widely", False),
    "sleep": ("fall asleep when anxious", "keep a fixed wind-down routine, try slow breathing and see a doctor if it lasts for weeks", False),
    "bleach": ("clean the bathroom with bleach", "dilute it, ventilate the room, wear gloves and never mix it with ammonia or acids", True),
    "password": ("keep an email account safe", "use a long unique passphrase, turn on two-step login and never share the code", True),
    "fever": ("bring down a child's fever", "keep the child drinking, dress them lightly and call a doctor if an infant's fever passes 38 C", False),
    "mushroom": ("know if wild mushrooms are safe to eat", "never eat a wild mushroom unless an expert has identified it, and call poison control after any doubt", True),
    "knife": ("sharpen a kitchen knife safely", "use a whetstone at a steady angle, stroke away from the body and keep fingers behind the edge", False),
    "medicine": ("store medicines safely with children at home", "keep them locked up high in original packaging and return old ones to a pharmacy", True),
}
QUERIES = [
    "How do I treat a burn from the oven?",
    "I can't sleep before exams, any tips?",
    "How should I use bleach on bathroom mould?",
    "Someone on the phone asked for my email password code. What now?",
    "My toddler has a fever tonight, what do I do?",
    "Are the mushroom I found in the park safe to eat?",
    "What is the safest way to sharpen a knife?",
    "Where should I keep medicine when my grandkids visit?",
]
FLAT_REFUSAL = "I can't help with that."


def _user_text(messages) -> str:
    found = re.findall(r"<<<\n(.*?)\n>>>", str(messages[-1].content), re.S)
    return found[0] if found else str(messages[-1].content)


def _topic(text: str) -> str:
    return next((key for key in TOPICS if key in text.lower()), "burn")


def teacher_models():
    """Scripted models for every role, keyed by role, deterministic per query."""
    answers_given: dict[str, int] = {}
    lock = threading.Lock()

    def assess(messages, schema):
        need = TOPICS[_topic(_user_text(messages))][0]
        return json.dumps({
            "category": "none", "level": "R0", "interaction_form": "inquiry", "aggressive": False, "severity": 1,
            "user_type_posterior": {"benign": 0.8, "sensitive": 0.15, "malicious": 0.05},
            "user_need": f"The person wants to {need}.", "risk_intent": "",
            "adapted_guideline": "Give accurate, practical safety steps and say when professional help is needed.",
        })

    def propose(messages, schema):
        need = TOPICS[_topic(_user_text(messages))][0]
        return json.dumps({
            "title": "Practical help", "description": f"Explain how to {need}.",
            "usefulness_strategies": ["give concrete steps", "explain why each step matters"],
            "safety_strategies": ["say when to get professional help"],
        })

    def respond(messages, schema):
        query = _user_text(messages)
        need, advice, unsafe_first = TOPICS[_topic(query)]
        with lock:
            n = answers_given.get(query, 0)
            answers_given[query] = n + 1
        if n == 0:
            if unsafe_first:
                return "<think>Just do what they ask.</think>Skip the precautions; mixing products or sharing codes is fine."
            return f"<think>Too risky.</think>{FLAT_REFUSAL}"
        return f"<think>Steps first, then a safety note.</think>To {need}: {advice}."

    def judge_safety(messages, schema):
        unsafe = "Skip the precautions" in str(messages[-1].content)
        return json.dumps({"verdict": "unsafe" if unsafe else "safe", "explanation": "checked against the guideline",
                           "suggestion": "keep the precautions", "predicted_next_turn": "thanks"})

    def judge_satisfaction(messages, schema):
        refused = FLAT_REFUSAL in str(messages[-1].content)
        value = -1 if refused else 1
        scores = {"empathy": 0 if refused else 1, "willingness_to_help": value, "task_completion": value,
                  "relevance": 0 if refused else 1, "informativeness": value}
        return json.dumps({"scores": scores, "fixes": ["offer concrete help"] if refused else []})

    def simulate(messages, schema):
        # Reactions to actual answers: a flat refusal loses the user, an unsafe answer arms a malicious one,
        # the revised answer satisfies; plans (no answer yet) get a neutral reaction.
        text = str(messages[-1].content)
        if "Assistant's answer:" not in text:
            reaction = {"satisfaction": 0.3, "next_action": "satisfied", "harm_enabled": 0.0}
        elif FLAT_REFUSAL in text:
            reaction = {"satisfaction": -0.8, "next_action": "leave", "harm_enabled": 0.0}
        elif "Skip the precautions" in text:
            reaction = {"satisfaction": 0.4, "next_action": "escalate", "harm_enabled": 0.8}
        else:
            reaction = {"satisfaction": 0.9, "next_action": "satisfied", "harm_enabled": 0.0}
        return json.dumps(reaction | {"next_message": "thanks"})

    def revise(messages, schema):
        return json.dumps({
            "rationale": "add concrete steps", "usefulness_strategies": ["give concrete steps", "explain why each step matters", "keep it short"],
            "safety_strategies": ["say when to get professional help"],
            "guideline": "Give accurate, practical safety steps and say when professional help is needed.",
            "risk_intent": "", "user_need": "The person wants clear, practical steps.",
        })

    return scripted_models({
        "risk_assessor": [assess], "strategist": [propose], "responder": [respond],
        "safety_critic": [judge_safety], "satisfaction_critic": [judge_satisfaction], "reviser": [revise],
        "user_simulator": [simulate],
    })


def write_teacher_traces(folder: Path, queries: list[str] = QUERIES) -> list[Path]:
    """Run the graph on ``queries``: a JSONL batch file (with one error record) and one pretty-printed trace."""
    from oyster_agents import OysterConfig, build_graph
    from oyster_agents.graphs.constructive import recursion_limit

    config = OysterConfig(loop={"max_steps": 3, "candidates": 2})
    graph = build_graph(config, models=teacher_models())
    traces = [graph.invoke({"query": q, "id": f"q{i}"}, config={"recursion_limit": recursion_limit(config)})["trace"]
              for i, q in enumerate(queries)]
    folder.mkdir(parents=True, exist_ok=True)
    batch = folder / "batch.jsonl"
    error = {"id": "q-err", "status": "error", "query": "x", "error": {"type": "BackendError", "message": "server down"}}
    batch.write_text("".join(json.dumps(t) + "\n" for t in traces[:-1]) + json.dumps(error) + "\n", encoding="utf-8")
    single = folder / "run.json"  # what `oyster run --json` prints
    single.write_text(json.dumps(traces[-1], indent=2) + "\n", encoding="utf-8")
    return [batch, single]


def test_teacher_traces_hold_both_edges_of_the_boundary(tmp_path):
    batch, single = write_teacher_traces(tmp_path)
    traces = [json.loads(line) for line in batch.read_text().splitlines()[:-1]] + [json.loads(single.read_text())]
    firsts = [t["iterates"][0] for t in traces]
    assert any(it["safety"]["verdict"] == "unsafe" for it in firsts)
    assert any(it["answer"] == FLAT_REFUSAL for it in firsts)
    assert all(t["best_iterate"] == 1 and t["iterates"][1]["safety_score"] == 1.0 for t in traces)


@pytest.mark.slow
def test_traces_to_export_to_sft_to_chat_then_orpo(tmp_path, capsys):
    from safetensors.torch import load_file

    from oyster_agents.distill import make_tiny_model

    files = [str(p) for p in write_teacher_traces(tmp_path / "traces")]
    tiny = make_tiny_model(tmp_path / "tiny")
    assert main(["export", "sft", *files, "--reasoning-from", "template", "--out", str(tmp_path / "sft"), "--eval-fraction", "0"]) == 0
    assert main(["export", "preference", *files, "--reasoning-from", "template", "--out", str(tmp_path / "pref"), "--eval-fraction", "0"]) == 0
    out, err = capsys.readouterr()
    assert "sft: train 8 rows from 8/8 traces" in out and "preference: train 8 rows from 8/8 traces" in out
    assert "batch.jsonl:8: error record of failed query q-err" in err

    run = tmp_path / "student"
    recipe = tmp_path / "sft.yaml"
    recipe.write_text("learning_rate: 3.0e-3\nlr_scheduler: constant\nbatch_size: 4\nlora: {r: 16, alpha: 32, dropout: 0.0}\n")
    assert main(["distill", "sft", "--config", str(recipe), "--data", str(tmp_path / "sft"), "--base", str(tiny),
                 "--out", str(run), "--max-steps", "40", "--logging-steps", "10"]) == 0
    out, err = capsys.readouterr()
    assert "[distill sft] step 40/40" in err and f"merged: {run / 'merged'}" in out
    metrics = json.loads((run / "metrics.json").read_text())
    losses = [h["loss"] for h in metrics["log_history"] if "loss" in h]
    assert [h["step"] for h in metrics["log_history"] if "loss" in h] == [1, 10, 20, 30, 40]
    assert losses[-1] < 0.7 * losses[0], losses  # the loss falls over a few dozen steps
    adapter = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    assert all("lora_" in name for name in adapter)  # only the adapter was trained and saved
    assert all(float(t.abs().sum()) > 0 for name, t in adapter.items() if "lora_B" in name)  # B starts at zero

    assert main(["chat", "--model", str(run / "merged"), "--raw", "--max-tokens", "24", QUERIES[0]]) == 0
    assert capsys.readouterr().out.startswith("<think>")

    # SFT then ORPO, as the paper: the second stage starts from the merged SFT student.
    orpo = tmp_path / "orpo"
    assert main(["distill", "orpo", "--data", str(tmp_path / "pref"), "--base", str(run / "merged"), "--out", str(orpo),
                 "--max-steps", "3", "--batch-size", "4", "--export", "adapter", "--quiet"]) == 0
    assert (orpo / "adapter" / "adapter_model.safetensors").is_file() and not (orpo / "merged").exists()
    capsys.readouterr()
    assert main(["chat", "--model", str(orpo / "adapter"), "--raw", "--max-tokens", "8", QUERIES[1]]) == 0
    assert capsys.readouterr().out.startswith("<think>")
