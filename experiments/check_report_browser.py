"""Open a stage's report.html in headless Chromium, offline, and check that its plotly figures rendered.

    python -m experiments.check_report_browser multirun/.../analysis/report.html --screenshot report.png
    python -m experiments.check_report_browser --demo /tmp/report_demo      # a synthetic sweep, analysed, checked

What it checks: Chromium (``apt-get install -y chromium``) loads the file with every network route
closed (a proxy on a closed port, background networking off), runs the page's scripts, and the DOM it
dumps holds one rendered plotly figure (``class="plot-container`` with an ``svg.main-svg``) per
interactive section (history, parallel coordinates, slices), with no ``<script src=http...>``. It
writes a screenshot (look at it). Exit status 0 when every figure rendered, 1 when not, 2 when no
Chromium is installed. ``tests/test_report_interactive.py`` runs :func:`check` (marked slow; skipped
without Chromium).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

SECTIONS = ("plot-history", "plot-parallel", "plot-slices")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> Optional[str]:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def _chromium(browser: str, url: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                # offline: any http(s) request goes to a closed port, so a CDN script could not load
                "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                "--virtual-time-budget=15000", *extra, url]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def check(report: Path, screenshot: Optional[Path] = None, browser: Optional[str] = None) -> dict:
    """Load ``report`` in headless Chromium; return what rendered (raises RuntimeError without a browser)."""
    browser = browser or find_browser()
    if browser is None:
        raise RuntimeError("no Chromium found (apt-get install -y chromium)")
    report = Path(report).resolve()
    html = report.read_text(encoding="utf-8")
    url = report.as_uri()
    dom = _chromium(browser, url, "--dump-dom").stdout
    rendered = {}
    for section in SECTIONS:
        # the figure's div, up to the next figure: plotly adds .plot-container and svg.main-svg when it draws
        match = re.search(rf'<div[^>]*id="{section}"(.*?)(?=<div[^>]*id="plot-|</body>)', dom, re.S)
        rendered[section] = bool(match and 'class="plot-container' in match.group(1) and "main-svg" in match.group(1))
    result = {"report": str(report), "browser": browser, "dom_chars": len(dom), "rendered": rendered,
              "external_scripts": re.findall(r'<script[^>]+src="(https?://[^"]+)"', html),
              "plotly_inline": html.count("plotly.js v") >= 1 or "Plotly" in html}
    if screenshot is not None:
        screenshot = Path(screenshot).resolve()
        _chromium(browser, url, f"--screenshot={screenshot}", "--window-size=1280,4200", "--hide-scrollbars")
        result["screenshot"] = str(screenshot) if screenshot.exists() else None
    result["ok"] = all(rendered.values()) and not result["external_scripts"]
    return result


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report", nargs="?", help="a report.html")
    p.add_argument("--demo", metavar="DIR", help="write a synthetic sweep into DIR, analyse it, check its report")
    p.add_argument("--screenshot", help="PNG to write (default: next to the report)")
    args = p.parse_args(argv)
    if find_browser() is None:
        print("no Chromium found: apt-get install -y chromium", file=sys.stderr)
        return 2
    if args.demo:
        from genarch.analyze import main as analyze

        analyze(["--demo", args.demo, "--seeds", "2", "--trees", "20", "--quiet"])
        args.report = str(next(Path(args.demo).glob("**/analysis/report.html")))
    if not args.report:
        p.error("give a report.html or --demo DIR")
    shot = Path(args.screenshot) if args.screenshot else Path(args.report).with_name("report_screenshot.png")
    result = check(Path(args.report), shot)
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
