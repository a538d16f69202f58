"""``oyster view`` on a trace from the real default model (SmolLM2-135M on CPU), in a real headless Chromium.

One cheap run of the quick-start query (2 candidates, 1 Lingo-BP step, short replies); then the pages,
served and written by the CLI, are checked against the trace's own numbers. Structure only: a 135M
model's choices carry no signal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from oyster_agents import OysterConfig, build_graph
from oyster_agents.graphs.constructive import recursion_limit
from oyster_agents.view import build_site, load_entries
from oyster_agents.view.server import make_server

from .._browser import ARTIFACTS, PageWatch, check_heatmap

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUERY = "My toddler has had a fever for two days and a forum says to rub her with alcohol. Should I?"


@pytest.fixture(scope="module")
def trace_file(smollm_dir, tmp_path_factory):
    config = OysterConfig(roles={"default": {"backend": "hf", "model": str(smollm_dir), "max_tokens": 48}},
                          loop={"candidates": 2, "max_steps": 1})
    out = build_graph(config).invoke({"query": QUERY}, config={"recursion_limit": recursion_limit(config)})
    text = json.dumps(out["trace"], indent=2, ensure_ascii=False)
    path = tmp_path_factory.mktemp("real") / "trace.json"
    path.write_text(text, encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "view-real-trace.json").write_text(text, encoding="utf-8")  # scripts/view_screenshot.py --trace
    return path


def _check_item_page(watch: PageWatch, url: str, trace: dict) -> None:
    page = watch.page
    page.goto(url)
    assert page.locator("#query-text").text_content() == QUERY
    assert len(trace["candidates"]) == 2
    check_heatmap(page, trace)
    returned = page.locator("article.iterate[data-returned=true]")
    assert returned.count() == 1
    assert int(returned.get_attribute("data-step")) == trace["iterates"][trace["best_iterate"]]["step"]
    assert page.locator("article.iterate").count() == len(trace["iterates"])
    assert trace["answer"] in page.locator("#final .answer").text_content()
    assert page.locator("#usage tr[data-role]").count() == len(trace["usage"]["per_role"])
    watch.clean()


def test_view_of_a_real_trace_served_and_from_disk(trace_file, browser, tmp_path):
    trace = json.loads(trace_file.read_text(encoding="utf-8"))
    site = build_site(load_entries([trace_file]))
    server = make_server(site, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    watch = PageWatch(browser)
    try:
        _check_item_page(watch, f"http://127.0.0.1:{server.server_address[1]}/q00000.html", trace)
        watch.screenshot("view-real-served.png")
        folder = tmp_path / "site"
        assert subprocess.run([sys.executable, "-m", "oyster_agents.cli", "view", str(trace_file), "--out", str(folder)],
                              capture_output=True, timeout=300).returncode == 0
        _check_item_page(watch, (folder / "q00000.html").as_uri(), trace)
        watch.page.goto((folder / "index.html").as_uri())
        assert watch.page.locator("#list tbody tr.row").count() == 1
        watch.clean()
        watch.screenshot("view-real-list.png")
    finally:
        watch.close()
        server.shutdown()
        server.server_close()
