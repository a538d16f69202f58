"""Regenerate docs/view.png: ``oyster view`` on the README's quick-start trace, photographed by headless Chromium.

    python scripts/view_screenshot.py                  # runs the quick start on the default model first
    python scripts/view_screenshot.py --candidates 2 --max-steps 1 --max-tokens 48   # flags go to `oyster run`
    python scripts/view_screenshot.py --trace t.json   # or photographs an existing trace

Needs Chromium (apt-get install -y chromium, or --chromium PATH) and Playwright (the dev extra).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = "My toddler has had a fever for two days and a forum says to rub her with alcohol. Should I?"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, help="a trace file; default: run the quick start and use its trace")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "view.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1280)
    args, run_flags = parser.parse_known_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.json"  # the name the README's commands use, shown as the page title
        if args.trace is not None:
            trace.write_bytes(args.trace.read_bytes())
        else:
            run = subprocess.run([sys.executable, "-m", "oyster_agents.cli", "run", QUICKSTART, "--json", *run_flags],
                                 capture_output=True, text=True, check=False)
            if run.returncode != 0:
                print(run.stderr[-2000:], file=sys.stderr)
                return 1
            trace.write_text(run.stdout, encoding="utf-8")
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "oyster_agents.cli", "view", str(trace), "--out", str(site)], check=True)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=args.chromium, headless=True, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto((site / "q00000.html").as_uri())
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
        if errors:
            print("the page reported errors: " + "; ".join(errors), file=sys.stderr)
            return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
