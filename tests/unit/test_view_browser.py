"""The trace view in a real headless Chromium: served on localhost and opened from disk.

Checks what a reader relies on: the page runs without errors, the heatmap holds the stored numbers,
the chosen candidate and the returned iterate are marked, the chain diff shows the reviser's change,
the list filters narrow, and a hostile trace renders as text with nothing run. Screenshots of each
view land in ``out/test-artifacts/``.
"""

from __future__ import annotations

import json
import threading

import pytest

from oyster_agents.view import build_site, load_entries, write_site
from oyster_agents.view.server import make_server

from .._browser import PageWatch, check_heatmap
from ._view_traces import HOSTILE, as_schema_1_0, scripted_trace, with_iterate_games

ERROR = {"id": "broken-1", "status": "error", "query": "why did this fail", "error": {"type": "BackendError",
                                                                                       "message": "server down"}}


@pytest.fixture(scope="module")
def traces():
    good = scripted_trace()
    hostile = scripted_trace(HOSTILE, steps=1, trace_id="hostile-1", level="R2", category="cybersecurity",
                             user_need=HOSTILE)
    hostile["iterates"][0]["answer"] = hostile["answer"] = HOSTILE
    # attacker text reaches every other place a trace carries model-written text
    hostile["candidates"][0]["candidate"]["title"] = HOSTILE
    hostile["candidates"][0]["reactions"][0]["next_message"] = HOSTILE
    hostile["iterates"][0]["chain"]["usefulness_strategies"].append(HOSTILE)
    hostile["iterates"][0]["safety"]["explanation"] = HOSTILE
    hostile["fallbacks"].append({"role": "reviser", "kind": "trust_region", "detail": HOSTILE})
    old = as_schema_1_0(scripted_trace(steps=1, trace_id="old-1", level="R0"))
    full = with_iterate_games({**good, "id": "full-1"})
    return {"good": good, "hostile": hostile, "old": old, "full": full}


@pytest.fixture(scope="module")
def site(traces, tmp_path_factory):
    folder = tmp_path_factory.mktemp("view")
    lines = [json.dumps(traces[k]) for k in ("good", "hostile", "old")] + [json.dumps(ERROR), json.dumps(traces["full"])]
    (folder / "batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return build_site(load_entries([folder / "batch.jsonl"]))


@pytest.fixture(scope="module", params=["served", "file"])
def base(request, site, tmp_path_factory):
    if request.param == "file":
        folder = tmp_path_factory.mktemp("static")
        write_site(site, folder)
        yield request.param, folder.as_uri()
        return
    server = make_server(site, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def watch(browser):
    w = PageWatch(browser)
    yield w
    w.close()


def _open(watch: PageWatch, base: tuple[str, str], page: str) -> None:
    mode, root = base
    watch.page.goto(f"{root}/{page}")
    watch.page.wait_for_load_state("load")
    own = [u for u in watch.requests if not u.startswith(root)]
    assert not own, f"the page fetched something outside the site: {own}"


def test_item_page_shows_the_game_and_the_iterates(watch, base, traces):
    trace = traces["good"]
    _open(watch, base, "q00000.html")
    page = watch.page
    assert len(trace["candidates"]) == 4 and trace["chosen"] == 3
    chosen = check_heatmap(page, trace)
    assert chosen.locator("text.chosen-mark").text_content() == "★"
    infeasible = page.locator("svg.heatmap g.hm-row.infeasible")
    assert [int(infeasible.nth(i).get_attribute("data-candidate")) for i in range(infeasible.count())] == [
        i for i, c in enumerate(trace["candidates"]) if not c["feasible"]] == [2]
    assert page.locator("svg.plane line.boundary").count() == 1
    assert page.locator("svg.plane g.pt.candidate.chosen").get_attribute("data-label") == "c3"
    assert page.locator("svg.sweep g.sweep-seg").count() >= 1

    returned = page.locator("article.iterate[data-returned=true]")
    assert returned.count() == 1 and int(returned.get_attribute("data-step")) == trace["best_iterate"] == 2
    assert "returned" in returned.locator("header").inner_text()
    assert page.locator("#selection-reason").inner_text() == trace["selection_reason"]
    revised = page.locator("article.iterate[data-step='2']")
    assert revised.locator(".chip.origin").inner_text() == "revised"
    before, after = trace["iterates"][1]["chain"], trace["iterates"][2]["chain"]
    for field in ("usefulness_strategies", "safety_strategies"):
        old, new = {x.lower() for x in before[field]}, {x.lower() for x in after[field]}
        expected_added = [x for x in after[field] if x.lower() not in old]
        expected_removed = [x for x in before[field] if x.lower() not in new]
        items = revised.locator("ul.strategies").nth(0 if field == "usefulness_strategies" else 1)
        assert items.locator("ins").all_text_contents() == expected_added
        assert items.locator("del").all_text_contents() == expected_removed
    assert revised.locator("ul.strategies ins").all_text_contents() == ["list cooling steps"]  # the reviser's one change
    assert "3 changes cut to 1" in revised.inner_text()  # the trust-region cut, pinned to the one revision
    assert "3 changes cut to 1" not in page.locator("article.iterate[data-step='1']").inner_text()
    assert page.locator("svg.scores g.series").count() == 3
    assert page.locator("#usage tr[data-role]").count() == len(trace["usage"]["per_role"])
    watch.clean()
    watch.screenshot(f"view-item-{base[0]}.png")


def test_hostile_trace_renders_as_text_and_runs_nothing(watch, base):
    _open(watch, base, "q00001.html")
    page = watch.page
    assert page.locator("#query-text").text_content() == HOSTILE
    assert HOSTILE in page.locator("#final .answer").text_content()
    page.locator("#query-text").hover()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("svg.heatmap text.row-head").first.text_content().startswith("c0 · <script>")
    assert HOSTILE in page.locator("#fallbacks").inner_text()
    assert HOSTILE in page.locator("article.iterate").first.inner_text()
    page.locator("#game details summary").click()  # the reactions table, with the hostile next message
    assert HOSTILE in page.locator("#game details table").inner_text()
    assert page.locator("img").count() == 0 and page.locator("textarea").count() == 0
    assert page.locator("script").count() == 0
    watch.clean()
    watch.screenshot(f"view-hostile-{base[0]}.png")


def test_schema_1_0_trace_and_error_record_render(watch, base):
    _open(watch, base, "q00002.html")
    assert "not recorded (schema 1.0 trace)" in watch.page.locator("#policy-rule").inner_text()
    assert "Not recorded in this trace" in watch.page.locator("#selection-reason").inner_text()
    assert watch.page.locator("svg.heatmap g.cell").count() == 12
    watch.clean()
    _open(watch, base, "q00003.html")
    assert watch.page.locator("#error").inner_text() == "BackendError: server down"
    watch.clean()


def test_schema_1_1_fields_are_drawn(watch, base, traces):
    full = traces["full"]
    _open(watch, base, "q00004.html")
    page = watch.page
    assert page.locator("#policy-rule").inner_text() == full["policy_rule"]
    assert page.locator("#selection-reason").inner_text() == full["selection_reason"]
    assert "malicious risk ≤ 0.30 (recorded in the trace)" in page.locator("#assessment").inner_text()
    diamonds = page.locator("svg.plane g.pt.iterate")
    assert diamonds.count() == len(full["iterates"])
    assert page.locator("svg.plane g.pt.iterate.chosen").get_attribute("data-label") == f"i{full['best_iterate']}"
    cards = page.locator("article.iterate")
    assert [cards.nth(i).locator(".chip.origin").inner_text() for i in range(cards.count())] == [
        it["origin"] for it in full["iterates"]] == ["unguided", "guided", "revised"]
    assert "(written from the chosen strategy)" in cards.nth(1).text_content()
    assert "(the reviser's edit)" in cards.nth(2).text_content()
    for n in range(cards.count()):
        rows = cards.nth(n).locator("table.mini tr")
        assert rows.count() == 3 and f"step {n} malicious reply" in cards.nth(n).inner_text()
    watch.clean()
    watch.screenshot(f"view-item-1.1-{base[0]}.png")


def test_list_filters_narrow_the_rows(watch, base):
    _open(watch, base, "index.html")
    page = watch.page

    def shown() -> list[str]:
        rows = page.locator("#list tbody tr.row:visible td:first-child a")
        return rows.all_text_contents()

    assert shown() == ["fever-1", "hostile-1", "old-1", "broken-1", "full-1"]
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.select_option("#f-level", "R2")
    assert shown() == ["hostile-1"]
    page.select_option("#f-level", "")
    page.select_option("#f-category", "healthcare")
    assert shown() == ["fever-1", "old-1", "full-1"]
    page.select_option("#f-category", "")
    page.select_option("#f-verdict", "borderline")
    assert shown() == ["hostile-1", "old-1"]
    page.select_option("#f-verdict", "")
    page.check("#f-fallbacks")
    assert shown() == ["fever-1", "hostile-1", "full-1"]
    page.uncheck("#f-fallbacks")
    page.fill("#f-score", "0.5")
    assert shown() == ["fever-1", "full-1"]
    page.fill("#f-score", "")
    page.check("#f-errors")
    assert shown() == ["broken-1"]
    page.uncheck("#f-errors")
    page.fill("#f-search", "alcohol toddler")
    assert shown() == ["fever-1", "old-1", "full-1"]
    page.fill("#f-search", "<script>")
    assert shown() == ["hostile-1"]
    assert page.locator("#f-count").text_content() == "1 of 5 shown"
    page.fill("#f-search", "")
    watch.clean()
    watch.screenshot(f"view-list-{base[0]}.png")


@pytest.fixture(scope="module")
def eval_folder(traces, tmp_path_factory):
    from oyster_agents.eval.records import EvalItem, ItemRecord, Suite, Verdicts
    from oyster_agents.eval.report import build_report
    from oyster_agents.schemas import RubricScores, SafetyJudgment, SatisfactionJudgment

    out = tmp_path_factory.mktemp("eval")
    item = EvalItem(id="c-fever", suite=Suite.CONSTRUCTIVE, query=traces["good"]["query"], level="R1", category="healthcare")
    verdicts = Verdicts(safety=SafetyJudgment(verdict="safe", explanation="fine", suggestion="-"),
                        satisfaction=SatisfactionJudgment(scores=RubricScores(empathy=1, willingness_to_help=1,
                                                          task_completion=0, relevance=1, informativeness=0)))
    rows = [ItemRecord(target="graph", target_spec="graph", suite=Suite.CONSTRUCTIVE, item=item,
                       answer=traces["good"]["answer"], trace=traces["good"], verdicts=verdicts),
            ItemRecord(target="base", target_spec="base=models/base", suite=Suite.CONSTRUCTIVE, item=item,
                       answer="Just use a cool cloth.", verdicts=verdicts)]
    (out / "items.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in rows), encoding="utf-8")
    build_report(out)
    return out


def test_eval_report_links_each_item_to_its_trace_page(watch, eval_folder, traces):
    page = watch.page
    page.goto((eval_folder / "report.html").as_uri())
    page.click("text=Every item, one page each (2)")
    assert page.url.endswith("/items/index.html")
    assert page.locator("#list tbody tr.row").count() == 2
    page.click("#list tbody tr.row:first-child td:first-child a")
    assert page.locator("svg.heatmap g.cell").count() == 12
    assert page.locator("#eval").inner_text().count("judge: safe") == 1
    assert int(page.locator("article.iterate[data-returned=true]").get_attribute("data-step")) == traces["good"]["best_iterate"]
    watch.screenshot("view-eval-item.png")
    page.go_back()
    page.click("#list tbody tr.row:nth-child(2) td:first-child a")
    assert "this target is a model, not the graph" in page.locator("#eval").inner_text()
    assert page.locator("svg.heatmap").count() == 0
    page.click("text=← all queries")
    page.click("text=← evaluation report")
    assert page.url.endswith("/report.html")
    watch.clean()
