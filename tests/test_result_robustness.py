"""What a run leaves behind stays readable and complete: ``result.json`` is strict JSON (an undefined
metric is ``null``, never the bare word ``NaN``), a run that fails after it has measured its model keeps
those measurements, and the interpretation report never leaves a torn file."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from genarch.result import Objective, RunResult, finite_or_none


def _strict(text: str):
    def refuse(word):
        raise ValueError(f"not strict JSON: {word}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("value, expected", [
    (0.75, 0.75),
    (3, 3),
    (True, True),
    (None, None),
    ("n/a", "n/a"),
    (math.nan, None),
    (math.inf, None),
    (-math.inf, None),
    (np.float64("nan"), None),
    (np.float32(0.5), np.float32(0.5)),
    (np.float64(0.25), np.float64(0.25)),
])
def test_finite_or_none(value, expected):
    out = finite_or_none(value)
    assert out is None if expected is None else out == expected


def test_undefined_metrics_are_null_in_strict_json(tmp_path):
    # a one-class test split gives AUROC NaN; a diverged output gives inf
    result = RunResult(status="ok", objective=Objective("val_auroc", "maximize", 0.8),
                       metrics={"val": {"auroc": 0.8, "loss": np.float64(math.inf)},
                                "test": {"auroc": math.nan, "accuracy": 1.0}})
    path = result.write(tmp_path)
    data = _strict(path.read_text())
    assert data["metrics"] == {"val": {"auroc": 0.8, "loss": None}, "test": {"auroc": None, "accuracy": 1.0}}
    assert math.isnan(result.metrics["test"]["auroc"])  # the in-memory result is unchanged


def test_the_run_summary_prints_an_undefined_metric_as_a_dash():
    import io

    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf
    from rich.console import Console

    from genarch.console import print_run_summary

    with initialize_config_module("genarch.conf", version_base="1.3"):
        model = OmegaConf.to_container(compose("config").model, resolve=True)
    out = io.StringIO()
    result = {"status": "ok", "objective": {"name": "val_auroc", "direction": "maximize", "value": 0.8},
              "metrics": {"val": {"auroc": 0.8}, "test": {"auroc": None}}, "n_params": 10, "epochs": 1,
              "wall_time_s": 1.0}
    print_run_summary(result, model, "run", Console(file=out, width=120))
    row = next(line for line in out.getvalue().splitlines() if line.strip().startswith("auroc") or "│ auroc" in line)
    assert "0.8000" in row and "-" in row.split("0.8000")[1]


def test_a_run_that_fails_after_evaluation_keeps_its_metrics(tmp_path):
    """Saving the model is the last step: when it fails (a full disk, a permission), the run is
    failed, but its result.json still holds the metrics, parameter count and epochs it measured."""
    from hydra import compose, initialize_config_module

    from genarch.app import run

    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=["trainer=smoke", "dataset.n=400", "trainer.batch_size=50",
                                           "trainer.threads=1", "trainer.progress=false", "+summary=false"])
    (tmp_path / "model.pt.partial").mkdir()  # torch.save cannot write over a directory
    with pytest.raises(RuntimeError, match="Is a directory"):
        run(cfg, tmp_path)
    data = _strict((tmp_path / "result.json").read_text())
    assert data["status"] == "failed" and "Is a directory" in data["error"]
    assert data["objective"] == {"name": "val_auroc", "direction": "maximize", "value": None}
    assert 0.0 <= data["metrics"]["val"]["auroc"] <= 1.0 and 0.0 <= data["metrics"]["test"]["auroc"] <= 1.0
    assert data["n_params"] > 1000 and data["epochs"] == 2 and data["task"] == "binary"
    assert data["extra"]["n_train"] > 0 and data["extra"]["best_epoch"] is not None
    assert "traceback" in data["extra"]


def test_a_run_that_fails_before_training_records_no_metrics(tmp_path):
    from hydra import compose, initialize_config_module

    from genarch.app import run

    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=["trainer=smoke", "dataset.n=400", "model/rnn=lstm", "model.rnn.output=last",
                                           "trainer.progress=false", "+summary=false"])
    with pytest.raises(ValueError):
        run(cfg, tmp_path)
    data = _strict((tmp_path / "result.json").read_text())
    assert data["status"] == "failed" and data["metrics"] == {} and data["n_params"] is None and data["epochs"] == 0


def test_a_matches_table_that_fails_midway_leaves_the_old_file_whole(tmp_path):
    from genarch.interpret.summary import write_matches

    path = tmp_path / "matches.tsv"
    path.write_text("the previous report\n")
    broken = SimpleNamespace(outputs=[SimpleNamespace(
        output="y", tf=None, motif_set=SimpleNamespace(motifs=lambda: []),
        matches=[SimpleNamespace(query="missing")])])
    with pytest.raises(KeyError):
        write_matches(broken, path)
    assert path.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matches.tsv"]


@pytest.mark.parametrize("head, expected", [
    ({"layers": 0, "units": 291, "batchnorm": True, "dropout": 0.249034588285664}, "linear output, dropout 0.249"),
    ({"layers": 2, "units": 64, "batchnorm": True, "dropout": 0.0}, "2 x FC(64), BN, no dropout, then linear output"),
    ({"layers": 1, "units": 512, "batchnorm": False, "dropout": 0.5}, "1 x FC(512), dropout 0.5, then linear output"),
])
def test_the_head_row_says_what_is_built(head, expected):
    """Before: '0 x FC(291), BN, dropout 0.249034588285664' for a head with no hidden layer."""
    from genarch.console import architecture_rows

    model = {"activation": "relu", "stem": {"convs_before": 1, "filters": 8, "filter_size": 3, "batchnorm": False},
             "residual": {"kind": "none"}, "reduction": {"kind": "none"}, "rnn": {"kind": "none"},
             "pooling": {"kind": "max"}, "head": head}
    assert dict(architecture_rows(model))["head"] == expected
