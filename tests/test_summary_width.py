"""The end-of-sweep summary fits 80 columns without fragmenting cells, and uses the room at 120+."""

import io
import re

import pytest
from rich.console import Console

from genarch.analysis.pipeline import Options, analyze_sweep
from genarch.analysis.summary import render, short_names
from genarch.analysis.synthetic import write_sweep


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    root = tmp_path_factory.mktemp("width")
    write_sweep(root / "s", kind="fork", n=40, seed=1)
    return analyze_sweep(root / "s", None, root / "s" / "analysis",
                         Options(seeds=2, n_estimators=10, plots=False, html=False))


def _render(analysis, width):
    buffer = io.StringIO()
    render(analysis, Console(file=buffer, width=width, color_system=None))
    return buffer.getvalue()


def _table(text, title):
    """The body rows of the table under ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(title))
    body = []
    for line in lines[start + 1:]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            body.append(line)
    return body


@pytest.mark.parametrize("width", [80, 120, 160])
def test_no_line_exceeds_the_width_and_no_cell_fragments(analysis, width):
    text = _render(analysis, width)
    assert max(len(line) for line in text.splitlines()) <= width
    top = _table(text, "Top ")
    assert len(top) == min(10, analysis.table.n)  # one line per trial: no cell wrapped onto a second line
    assert all(re.match(r"│\s*\d+\s*│\s*\d+\s*│", line) for line in top)
    importance = _table(text, "Importance")
    assert len(importance) == len(analysis.table.params)
    short = short_names(analysis.table.params)
    for param in analysis.table.params:  # each name whole (the full key, or its short form where that does not fit)
        pattern = rf"^│ ({re.escape(param)}|{re.escape(short[param])})( \*)? +│"
        assert sum(bool(re.match(pattern, line)) for line in importance) == 1, (param, importance)


def test_wider_consoles_show_more_hyperparameter_columns(analysis):
    def n_columns(text):
        return _table(text, "Top ")[0].count("│") - 1

    assert n_columns(_render(analysis, 80)) <= n_columns(_render(analysis, 120)) <= n_columns(_render(analysis, 200))
    assert n_columns(_render(analysis, 80)) >= 4  # #, job, metric and at least one hyperparameter


def test_short_names_are_unique_tails():
    names = short_names(["model.stem.filter_size", "model/rnn", "model.rnn.units", "model.head.units", "optimizer",
                         "optimizer.l2", "trainer.batch_size"])
    assert names == {"model.stem.filter_size": "stem.filter_size", "model/rnn": "rnn", "model.rnn.units": "rnn.units",
                     "model.head.units": "head.units", "optimizer": "optimizer", "optimizer.l2": "optimizer.l2",
                     "trainer.batch_size": "trainer.batch_size"}
