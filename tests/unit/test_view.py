"""The trace view without a browser: β sweep against the solver, chain diff, loading, escaping, CSP, server, CLI."""

from __future__ import annotations

import base64
import hashlib
import html as htmllib
import json
import re
import threading
import urllib.error
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oyster_agents.cli import main
from oyster_agents.errors import InputError
from oyster_agents.game.utility import Reaction, solve
from oyster_agents.schemas import ReasoningChain, RunTrace, UserType
from oyster_agents.view import SiteOptions, build_site, load_entries, write_site
from oyster_agents.view.diff import Segment, chain_diff, list_diff, text_diff
from oyster_agents.view.game import CandidateRow, beta_sweep, choose, game_view
from oyster_agents.view.server import make_server
from oyster_agents.view.site import summarize

from ._view_traces import HOSTILE, as_schema_1_0, scripted_trace

TYPES = (UserType.BENIGN, UserType.SENSITIVE, UserType.MALICIOUS)


@pytest.fixture(scope="module")
def trace() -> dict:
    return scripted_trace()


# ---- the game panel's numbers ---------------------------------------------------------------


def _rows(sol) -> list[CandidateRow]:
    return [CandidateRow(index=s.index, title="", kind="partial_help", description="", usefulness=[], safety=[],
                         utilities=s.utility_by_type, risks=s.risk_by_type, expected_utility=s.expected_utility,
                         expected_risk=s.expected_risk, cost=None, feasible=s.feasible, chosen=False)
            for s in sol.scores]


unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
signed = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.tuples(signed, signed, signed), st.tuples(unit, unit, unit)), min_size=1, max_size=6),
       st.tuples(unit, unit, unit).filter(lambda p: sum(p) > 0.01), st.integers(0, 4), unit,
       st.floats(0, 10, allow_nan=False), st.floats(0, 10, allow_nan=False))
def test_choice_recomputed_from_stored_numbers_matches_the_solver_at_any_beta(rows, post, severity, limit, b0, b1):
    table = [{t: Reaction(sat[i], harm[i]) for i, t in enumerate(TYPES)} for sat, harm in rows]
    total = sum(post)
    p = {t: post[i] / total for i, t in enumerate(TYPES)}
    kwargs = dict(severity=severity, limit=limit, alpha=1.0, gamma=0.1, costs=[0.05 * i for i in range(len(rows))])
    stored = solve(table, p, beta=b0, **kwargs)
    fresh = solve(table, p, beta=b1, **kwargs)
    pick = choose(_rows(stored), b1, b0)
    if pick != fresh.chosen:  # only a floating-point tie may differ
        a, b = fresh.scores[pick], fresh.scores[fresh.chosen]
        assert a.feasible == b.feasible and a.expected_utility == pytest.approx(b.expected_utility, abs=1e-6)


def _row(index: int, eu: float, er: float, feasible: bool = True, mal: float = 0.0) -> CandidateRow:
    return CandidateRow(index=index, title="", kind="partial_help", description="", usefulness=[], safety=[],
                        utilities={}, risks={"malicious": mal}, expected_utility=eu, expected_risk=er, cost=None,
                        feasible=feasible, chosen=False)


def test_beta_sweep_hand_computed():
    # at β0 = 2: c0 EU 0.8 with E[risk] 0.3, c1 EU 0.5 with E[risk] 0.0 → lines cross where 0.8 - 0.3(β-2) = 0.5,
    # β = 3; c2 is outside the boundary and never chosen however good.
    rows = [_row(0, 0.8, 0.3), _row(1, 0.5, 0.0), _row(2, 5.0, 0.0, feasible=False, mal=0.9)]
    segments = beta_sweep(rows, 2.0, top=6.0, step=0.5)
    assert [(s.start, s.end, s.chosen) for s in segments] == [(0.0, 2.5, 0), (3.0, 6.0, 1)]  # tie at 3 → less risk
    assert choose(rows, 2.0, 2.0) == 0


def test_no_feasible_candidate_means_least_malicious_risk_at_every_beta():
    rows = [_row(0, 0.9, 0.5, False, 0.8), _row(1, -0.2, 0.4, False, 0.5)]
    assert {s.chosen for s in beta_sweep(rows, 2.0)} == {1}


def test_game_view_of_a_graph_trace(trace):
    t = RunTrace.model_validate(trace)
    game = game_view(t)
    assert [r.index for r in game.rows] == [0, 1, 2, 3]
    assert game.choice_at_beta == t.chosen == 3  # the recomputation agrees with the solver that ran
    assert [r.feasible for r in game.rows] == [True, True, False, True]
    assert game.limit == pytest.approx(trace["boundary_limit"]) and game.limit_source == "recorded in the trace"
    assert game.beta == 2.0 and game.beta_recorded
    assert game.rows[0].utilities["benign"] == pytest.approx(t.candidates[0].utility_by_type["benign"])


# ---- chain diff ------------------------------------------------------------------------------


def test_text_diff_marks_added_and_removed_words():
    assert text_diff("give safe care now", "give careful care now") == [
        Segment("same", "give "), Segment("del", "safe"), Segment("add", "careful"), Segment("same", " care now")]
    assert text_diff("same", "same") == [Segment("same", "same")]


def test_list_diff_keeps_order_and_lists_removals_last():
    ops = [(i.op, i.text) for i in list_diff(["a", "B", "c"], ["b", "d", "a"])]
    assert ops == [("same", "b"), ("add", "d"), ("same", "a"), ("del", "c")]


def test_chain_diff_counts(trace):
    first, second = (ReasoningChain.model_validate(it["chain"]) for it in trace["iterates"][-2:])
    diff = chain_diff(first, second)
    assert (diff.added, diff.removed) == (1, 1)
    assert [i.text for i in diff.usefulness if i.op == "add"] == ["list cooling steps"]
    assert not chain_diff(None, first).changed


# ---- loading -----------------------------------------------------------------------------------


def test_loads_a_trace_file_a_batch_output_and_an_eval_folder(tmp_path, trace):
    (tmp_path / "one.json").write_text(json.dumps(trace, indent=2), encoding="utf-8")
    error = {"id": "q9", "status": "error", "query": "boom", "error": {"type": "BackendError", "message": "down"}}
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join([json.dumps(trace), json.dumps(error), json.dumps(as_schema_1_0(trace)), "{torn"]),
                     encoding="utf-8")
    folder = tmp_path / "eval"
    folder.mkdir()
    row = {"target": "graph", "target_spec": "graph", "suite": "constructive", "answer": trace["answer"], "trace": trace,
           "item": {"id": "c1", "suite": "constructive", "query": trace["query"], "level": "R1"}}
    (folder / "items.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    entries = load_entries([tmp_path / "one.json", batch, folder])
    assert [e.label for e in entries] == ["fever-1", "fever-1", "q9", "fever-1", "c1"]
    assert [e.key for e in entries] == ["00000", "00001", "00002", "00003", "00004"]
    assert entries[2].error == "BackendError: down" and entries[2].trace is None
    assert entries[3].trace.schema_version == "1.0" and entries[3].trace.iterates[1].game is None
    assert entries[3].trace.boundary_limit is None and entries[0].trace.iterates[1].game is not None
    assert entries[4].record.target == "graph" and entries[4].trace.chosen == 3


def test_unsupported_or_broken_lines_become_error_entries(tmp_path, trace):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({**trace, "schema_version": "9.0"}) + "\n[1]\n" + json.dumps({"query": "x"}) + "\n{}\n",
                    encoding="utf-8")
    errors = [e.error for e in load_entries([path])]
    assert "schema 9.0" in errors[0] and errors[1] == "not a JSON object" and errors[2].startswith("not a trace")


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_entries([tmp_path / "nope.jsonl"])
    with pytest.raises(InputError, match="no items.jsonl"):
        load_entries([tmp_path])


# ---- pages: escaping and the content policy --------------------------------------------------


def test_hostile_text_is_escaped_everywhere(tmp_path):
    trace = scripted_trace(HOSTILE)
    trace["iterates"][0]["answer"] = HOSTILE
    trace["assessment"]["user_need"] = HOSTILE
    path = tmp_path / "h.json"
    path.write_text(json.dumps(trace), encoding="utf-8")
    site = build_site(load_entries([path]))
    for name, data in site.items():
        html = data.decode()
        assert "<script>window" not in html and "<img src=x" not in html and "</textarea>" not in html, name
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html, name
        assert html.count("<script>") == (1 if name == "index.html" else 0)
        assert "{{ 7*7 }}" in html and "49" not in re.findall(r"\{\{ (\d+) \}\}", html)


def test_content_security_policy_allows_only_the_pages_own_code(trace, tmp_path):
    (tmp_path / "t.json").write_text(json.dumps(trace), encoding="utf-8")
    site = build_site(load_entries([tmp_path / "t.json"]))
    for name, data in site.items():
        html = data.decode()
        csp = htmllib.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
        assert "default-src 'none'" in csp and "unsafe-inline" not in csp
        style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
        assert _digest(style) in csp
        scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
        assert [_digest(s) in csp for s in scripts] == [True] * len(scripts)
        if not scripts:
            assert "script-src 'none'" in csp
        assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html)  # CSP would block them


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_signed_numbers_and_round_ticks():
    from oyster_agents.view.charts import Axis
    from oyster_agents.view.site import signed

    assert [signed(v) for v in (0.456, -0.004, -1.2, None)] == ["+0.46", "0.00", "-1.20", "-"]
    assert Axis(-1.2, 1.0, 0, 100).ticks(5) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert Axis(0.0, 1.0, 0, 100).ticks(6) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_list_summary_uses_the_returned_iterate(trace):
    from oyster_agents.view.load import Entry

    summary = summarize(Entry(label="x", query="q", source="s", trace=RunTrace.model_validate(trace)))
    best = trace["iterates"][trace["best_iterate"]]
    assert summary.verdict == best["safety"]["verdict"] == "safe"
    assert summary.score == pytest.approx(best["constructive_score"]) and summary.fallbacks == len(trace["fallbacks"]) == 1


def test_trace_link_only_for_http_templates_and_hex_ids(trace, tmp_path):
    trace = {**trace, "trace_id": "0af7651916cd43dd8448eb211c80319c"}
    (tmp_path / "t.json").write_text(json.dumps(trace), encoding="utf-8")
    site = build_site(load_entries([tmp_path / "t.json"]), SiteOptions(trace_url="http://localhost:16686/trace/{trace_id}"))
    assert 'href="http://localhost:16686/trace/0af7651916cd43dd8448eb211c80319c"' in site["q00000.html"].decode()
    assert main(["view", str(tmp_path / "t.json"), "--out", str(tmp_path / "s"), "--trace-url", "javascript:x"]) == 2


# ---- server and CLI ----------------------------------------------------------------------------


def test_server_serves_only_the_site_on_localhost(trace, tmp_path):
    (tmp_path / "t.json").write_text(json.dumps(trace), encoding="utf-8")
    (tmp_path / "secret.txt").write_text("do not serve", encoding="utf-8")
    server = make_server(build_site(load_entries([tmp_path / "t.json"])), port=0)
    assert server.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(base + "/") as reply:
            assert b"oyster traces" in reply.read() and reply.headers["X-Content-Type-Options"] == "nosniff"
        with urllib.request.urlopen(base + "/q00000.html") as reply:
            assert reply.status == 200
        for path in ("/secret.txt", "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "//etc/passwd",
                     "/q00000.html/../../secret.txt"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base + path)
            assert err.value.code == 404, path
    finally:
        server.shutdown()
        server.server_close()


def test_cli_writes_a_static_site(trace, tmp_path, capsys):
    (tmp_path / "t.json").write_text(json.dumps(trace), encoding="utf-8")
    assert main(["view", str(tmp_path / "t.json"), "--out", str(tmp_path / "site")]) == 0
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["index.html", "q00000.html"]
    assert "1 query written" in capsys.readouterr().err
    assert main(["view", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x")]) == 2


def test_write_site_round_trip(tmp_path, trace):
    (tmp_path / "t.json").write_text(json.dumps(trace), encoding="utf-8")
    site = build_site(load_entries([tmp_path / "t.json"]))
    index = write_site(site, tmp_path / "out")
    assert index.read_bytes() == site["index.html"]
