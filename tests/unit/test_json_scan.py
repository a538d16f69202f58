"""The scanner under JSON extraction: braces and brackets outside strings, and where strings are."""

from __future__ import annotations

from oyster_agents.backends._json import _balanced_spans, _nesting, _repair_start, extract_json


def _spans(text: str) -> list[str]:
    return [text[start:end] for start, end in _balanced_spans(text)]


def test_a_quote_in_prose_opens_no_string_outside_an_object():
    text = 'A 5" screen. {"k": "}"} then 7" more {"x": [1, {"y": 2}]}'
    assert _spans(text) == ['{"k": "}"}', '{"x": [1, {"y": 2}]}']


def test_quotes_and_escapes_inside_an_object_are_a_string():
    text = 'said {"a": "say \\"}\\" now", "b": "{"} done {"c": 1}'
    assert _spans(text) == ['{"a": "say \\"}\\" now", "b": "{"}', '{"c": 1}']
    assert extract_json(text)[0] == {"c": 1}


def test_an_unclosed_brace_in_prose_hides_no_later_object():
    text = 'use { to open, then {"verdict": "safe"}'
    assert _spans(text) == ['{"verdict": "safe"}']
    assert _repair_start('x {"a": 1} {"b": {"c": 2') == 11  # the first brace still open after the last object


def test_nesting_counts_braces_and_brackets_outside_strings_only():
    assert _nesting('{"a": [[1], {"b": [2]}]}') == 4
    assert _nesting('{"a": "[[[[{{{{"}') == 1
    assert _nesting('{"a": 1} "x [[[[ " [1]') == 1  # cut-out text: every quote is JSON's
    assert _nesting("]]]{[") == 2
