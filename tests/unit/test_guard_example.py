"""``examples/guarded_agent.py --fake``: the tool loop around the guard runs end to end."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "guarded_agent.py"


def load_example():
    spec = importlib.util.spec_from_file_location("guarded_agent_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_fake_run_calls_the_calculator_and_answers(capsys):
    example = load_example()
    assert example.main(["--fake", "What is 12 * 7?"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "12 × 7 is 84."
    assert "[tool] 12 * 7 = 84" in err and "route=direct" in err


def test_tools_and_the_call_line_parser():
    example = load_example()
    assert example.calculator.invoke({"expression": "2,340 * 0.17"}) == "2,340 * 0.17 = 397.8"
    assert example.calculator.invoke({"expression": "__import__('os')"}).startswith("calculator error")
    assert example.units.invoke({"query": "100 f to c"}) == "100 f = 37.78 c"
    reply = example.as_tool_call(example.AIMessage(content="Let me check.\nCALL units: 5 km to miles"))
    assert reply.tool_calls[0]["name"] == "units" and reply.tool_calls[0]["args"] == {"query": "5 km to miles"}
    assert not example.as_tool_call(example.AIMessage(content="CALL shell: rm -rf /")).tool_calls
