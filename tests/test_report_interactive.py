"""report.html's interactive plots (plotly, inline): what the figures hold, that the page needs no
network, and (slow, skipped without Chromium) that they render in headless Chromium offline."""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("plotly")

from genarch.analysis import plots_interactive  # noqa: E402
from genarch.analysis.pipeline import Options, analyze_sweep  # noqa: E402
from genarch.analysis.synthetic import write_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    sweep = write_sweep(tmp_path_factory.mktemp("rep") / "stage1", kind="fork", n=40, seed=3, n_failed=2)
    return analyze_sweep(sweep, None, sweep / "analysis", Options(seeds=2, n_estimators=15))


def test_history_is_the_running_best_in_run_order(analysis):
    t = analysis.table
    fig = plots_interactive.history(t)
    trials, best = fig.data
    assert list(trials.y) == pytest.approx(t.values.tolist())
    expected = np.maximum.accumulate(t.values) if t.direction == "maximize" else np.minimum.accumulate(t.values)
    assert list(best.y) == pytest.approx(expected.tolist()) and best.line.shape == "hv"


def test_parallel_coordinates_show_only_the_top_hyperparameters(analysis):
    t = analysis.table
    fig = plots_interactive.parallel(t, analysis.ranking(), analysis.stage, top=3)
    labels = [d.label.removesuffix(" (log)") for d in fig.data[0].dimensions]
    assert labels == analysis.ranking()[:3] + [t.metric]
    default = plots_interactive.parallel(t, analysis.ranking(), analysis.stage)
    assert len(default.data[0].dimensions) == min(len(t.params), plots_interactive.TOP_AXES) + 1
    lr = plots_interactive.parallel(t, ["optimizer.lr_scale"], analysis.stage).data[0].dimensions[0]
    assert lr.label == "optimizer.lr_scale (log)"  # tag(log, interval(...)) reads on a log axis
    assert list(lr.values) == pytest.approx(np.log10(t.frame["optimizer.lr_scale"].to_numpy(dtype=float)).tolist())


def test_slices_one_panel_per_top_hyperparameter(analysis):
    fig = plots_interactive.slices(analysis.table, analysis.ranking(), analysis.stage, top=4)
    assert len(fig.data) == 4
    titles = [a.text for a in fig.layout.annotations]
    assert titles == analysis.ranking()[:4]


def test_the_report_inlines_plotly_once_and_fetches_nothing(analysis):
    html = (analysis.out_dir / "report.html").read_text()
    for div in ("plot-history", "plot-parallel", "plot-slices"):
        assert f'id="{div}"' in html
    assert not re.search(r"<script[^>]*\ssrc=", html)  # every script inline
    markup = re.sub(r"<script.*?</script>", "", html, flags=re.S)  # plotly.js's own strings name its website
    assert not re.search(r"(src|href)=\"https?://", markup)
    assert html.count("plotly.js v") == 1  # the library's banner comment: inlined exactly once
    assert "data:image/svg+xml;base64," in html and "Suggested next stage" in html  # the tree and the diff as before


def _checker():
    spec = importlib.util.spec_from_file_location("check_report_browser",
                                                  ROOT / "experiments" / "check_report_browser.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_report_renders_offline_in_headless_chromium(analysis, tmp_path):
    checker = _checker()
    if checker.find_browser() is None:
        pytest.skip("no Chromium (apt-get install -y chromium)")
    result = checker.check(analysis.out_dir / "report.html", tmp_path / "shot.png")
    assert result["rendered"] == {"plot-history": True, "plot-parallel": True, "plot-slices": True}, result
    assert result["ok"] and Path(result["screenshot"]).stat().st_size > 10_000
    # the check can fail: the same page without plotly.js renders no figure
    broken = tmp_path / "broken.html"
    html = (analysis.out_dir / "report.html").read_text()
    broken.write_text(re.sub(r"<script>/\*\*\n\* plotly\.js.*?</script>", "", html, count=1, flags=re.S))
    assert broken.stat().st_size < len(html) / 2
    assert not any(checker.check(broken)["rendered"].values())
