"""The command end to end: every file of the contract, a self-contained report, the stage index."""

import json
import re

import pytest

from genarch.analysis.synthetic import write_sweep
from genarch.analysis.cli import main


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    write_sweep(root / "stage1", kind="single", n=50, seed=4)
    write_sweep(root / "stage2", kind="fork", n=60, seed=0)
    for stage in ("stage2", "stage1"):
        assert main([str(root / stage), "--seeds", "2", "--trees", "15", "--quiet"]) == 0
    return root


@pytest.mark.parametrize("name", ["tree.svg", "tree.png", "tree_rules.txt", "importance.json", "importance.png",
                                  "next_stage.diff", "report.html", "summary.txt", "analysis.json", "parallel.png"])
def test_contract_files_exist(experiment, name):
    assert (experiment / "stage1" / "analysis" / name).stat().st_size > 0


def test_interaction_plots_for_the_top_three(experiment):
    plots = sorted((experiment / "stage1" / "analysis").glob("interactions_*.png"))
    assert len(plots) == 3
    assert any("model_rnn" in p.name and "optimizer_lr_scale" in p.name for p in plots)


def test_report_is_self_contained(experiment):
    html = (experiment / "stage1" / "analysis" / "report.html").read_text()
    assert "data:image/png;base64," in html and "data:image/svg+xml;base64," in html
    markup = re.sub(r"<script.*?</script>", "", html, flags=re.S)  # plotly.js's own strings name its website
    assert not re.search(r"(src|href)=\"https?://", markup)  # nothing fetched: plotly.js is inline
    assert not re.search(r"<script[^>]*\ssrc=", html)
    for section in ["Top trials", "Importance", "decision tree", "Interactions", "parallel coordinates",
                    "Suggested next stage"]:
        assert section in html


def test_stage_index_links_stages_in_order(experiment):
    index = (experiment / "index.html").read_text()
    links = re.findall(r'href="([^"]+)"', index)
    assert links == ["stage1/analysis/report.html", "stage2/analysis/report.html"]
    assert "fork on" in index


def test_analysis_json_and_summary(experiment):
    data = json.loads((experiment / "stage2" / "analysis" / "analysis.json").read_text())
    assert data["fork"] and len(data["next_stage"]) == 2
    assert set(data["importance"]) == {"permutation", "main_effect"}
    summary = (experiment / "stage1" / "analysis" / "summary.txt").read_text()
    for part in ["Top 10 trials", "Importance", "Top-quantile tree", "Suggested next_stage.yaml", "Files in"]:
        assert part in summary
    rules = (experiment / "stage1" / "analysis" / "tree_rules.txt").read_text()
    best = [line for line in rules.splitlines() if "[HIGH]" in line]
    assert best and "model/rnn=lstm" in best[0] and "optimizer.lr_scale" in best[0] and " AND " in best[0]
    assert re.search(r" -> \d+% of top models \(\d+/10\); leaf: \d+ trials, \d+% top", best[0])


def test_the_static_parallel_plot_keeps_only_the_top_axes(tmp_path):
    """Before: one axis per hyperparameter (a 26-parameter stage gave a 4050x500 PNG); now the top 8."""
    import matplotlib.image

    from genarch.analysis import plots
    from genarch.analysis.pipeline import load_sweep

    write_sweep(tmp_path / "s", kind="single", n=30, seed=1)
    table, _ = load_sweep(tmp_path / "s")
    params = list(table.params)
    few = plots.parallel_coordinates(table, table.score > 0, tmp_path / "few.png", params, max_axes=3)
    many = plots.parallel_coordinates(table, table.score > 0, tmp_path / "all.png", params, max_axes=len(params))
    assert len(params) > 3
    assert matplotlib.image.imread(few).shape[1] < matplotlib.image.imread(many).shape[1]
