"""Degenerate inputs give a clear message, not a crash (library, command and callback)."""

import math
import pickle

import pytest

from genarch.analysis.callback import AnalysisCallback
from genarch.analysis.pipeline import Options, analyze, load_sweep
from genarch.analysis.trials import AnalysisInputError, build_table, from_csv, from_ledger
from genarch.analyze import main
from genarch.ledger import append_record


def write_ledger(sweep, rows):
    for job, (params, status, value) in enumerate(rows):
        append_record(sweep, {"job": job, "event": "end", "status": status, "params": params,
                              "objective": {"name": "val_loss", "direction": "minimize", "value": value},
                              "error": None if status == "ok" else "ValueError: boom"})
    return sweep


def varied(n, failed=0, nan=0, constant=False):
    rows = []
    for i in range(n):
        params = {"model/rnn": ["lstm", "none"][i % 2], "optimizer.lr_scale": 0.1 * (i + 1),
                  "model.stem.filters": 32 if constant else [8, 16, 32][i % 3]}
        status, value = "ok", 1.0 / (i + 1)
        if i < failed:
            status, value = "failed", None
        elif i < failed + nan:
            value = math.nan
        rows.append((params, status, value))
    return rows


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "no ledger"),
        (varied(4), "only 4 usable trial(s)"),
        (varied(6, failed=6), "all 6 trials failed"),
        (varied(7, failed=1, nan=3), "only 3 usable trial(s)"),
        ([({"a": 1}, "ok", 0.1 * i) for i in range(6)], "no hyperparameter varies"),
        ([({"a": i}, "ok", 0.5) for i in range(6)], "same 'val_loss'"),
    ],
    ids=["empty", "four-trials", "all-failed", "nan-metric-too-few", "constant-param-only", "constant-metric"],
)
def test_ledger_degenerate_inputs_raise_a_clear_message(tmp_path, rows, message):
    if rows:
        write_ledger(tmp_path, rows)
    with pytest.raises(AnalysisInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_ledger(tmp_path)


def test_nan_metric_rows_are_left_out_with_a_note(tmp_path):
    table = from_ledger(write_ledger(tmp_path, varied(12, failed=2, nan=2)))
    assert table.n == 8 and table.n_failed == 2 and table.direction == "minimize"
    assert any("NaN" in note for note in table.notes)
    assert any("failed" in note for note in table.notes)


def test_one_constant_hyperparameter_is_reported_and_the_rest_analysed(tmp_path):
    sweep = write_ledger(tmp_path, varied(12, constant=True))
    table, stage = load_sweep(sweep)
    assert "model.stem.filters" not in table.params and table.constant == {"model.stem.filters": 32}
    analysis = analyze(table, stage, sweep / "analysis", Options(seeds=2, n_estimators=10, plots=False, html=False))
    assert "model.stem.filters" not in analysis.combined
    assert (sweep / "analysis" / "next_stage.yaml").exists()  # inferred space, still a stage file
    assert "constant" in (sweep / "analysis" / "summary.txt").read_text()


def test_csv_with_nan_metric(tmp_path):
    path = tmp_path / "trials.csv"
    lines = ["lr,opt,value"] + [f"{0.1 * i},{'adam' if i % 2 else 'sgd'},{'nan' if i < 3 else i}" for i in range(10)]
    path.write_text("\n".join(lines) + "\n")
    table = from_csv(path, metric="value", direction="maximize")
    assert table.n == 7 and any("NaN" in n for n in table.notes)
    with pytest.raises(AnalysisInputError, match="no metric column 'loss'"):
        from_csv(path, metric="loss")


@pytest.mark.parametrize("direction", ["up", "", "MAX"])
def test_bad_direction(direction):
    with pytest.raises(AnalysisInputError, match="direction"):
        build_table([{"a": i} for i in range(6)], list(range(6)), [True] * 6, metric="m", direction=direction,
                    source="s")


def test_command_exits_2_with_the_message(tmp_path, capsys):
    write_ledger(tmp_path, varied(3))
    assert main([str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "nothing to analyse" in err and "only 3 usable" in err
    assert "only 3 usable" in (tmp_path / "analysis" / "summary.txt").read_text()


def test_command_needs_a_source(capsys):
    assert main([]) == 2
    assert "sweep directory or --csv" in capsys.readouterr().err


class _Cfg:
    class hydra:  # noqa: N801 - mimics config.hydra.sweep.dir
        class sweep:  # noqa: N801
            dir = None


def test_callback_never_raises_and_is_picklable(tmp_path):
    callback = AnalysisCallback(seeds=2, n_estimators=10, print_summary=False)
    clone = pickle.loads(pickle.dumps(callback))
    assert vars(clone) == vars(callback)
    write_ledger(tmp_path, varied(6, failed=6))
    cfg = _Cfg()
    cfg.hydra.sweep.dir = str(tmp_path)
    callback.on_multirun_end(cfg)  # all failed: logged, not raised
    assert "all 6 trials failed" in (tmp_path / "analysis" / "summary.txt").read_text()
    cfg.hydra.sweep.dir = str(tmp_path / "does-not-exist")
    callback.on_multirun_end(cfg)


@pytest.mark.parametrize("make", ["missing", "single_run"])
def test_a_path_that_is_no_sweep_is_left_as_it_was(tmp_path, capsys, make):
    """Before, a mistyped sweep path was created (with analysis/summary.txt in it), and a single run's
    directory got an analysis/ folder."""
    target = tmp_path / "multirun" / "nonexistent"
    if make == "single_run":
        target.mkdir(parents=True)
        (target / "result.json").write_text("{}")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main([str(target), "--quiet"]) == 2
    assert "no ledger.jsonl" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_failed_csv_analysis_replaces_the_earlier_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = ["lr,units,value"] + [f"{0.1 * (i + 1)},{[16, 32][i % 2]},{0.5 + 0.01 * i}" for i in range(12)]
    (tmp_path / "good.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "bad.csv").write_text("\n".join(rows[:3]) + "\n")
    assert main(["--csv", "good.csv", "--metric", "value", "--quiet"]) == 0
    assert main(["--csv", "bad.csv", "--metric", "value", "--quiet"]) == 2
    assert "nothing to analyse" in (tmp_path / "analysis" / "summary.txt").read_text()
