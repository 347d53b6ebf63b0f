"""A 2-epoch run on a tiny set writes a complete result.json; failed runs are recorded too."""

import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from genarch.__main__ import quote_stage_args
from genarch.training.threads import choose_threads, parallel_trials

REPO = Path(__file__).resolve().parents[1]

ROOT = Path(__file__).resolve().parents[1]
RESULT_KEYS = {"status", "error", "objective", "hparams", "overrides", "metrics", "n_params", "epochs",
               "wall_time_s", "seed", "version", "task", "extra"}
TINY = ["trainer=smoke", "dataset.n=400", "trainer.batch_size=50"]


def run_genarch(tmp_path: Path, *overrides: str) -> tuple[subprocess.CompletedProcess, dict]:
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "genarch", *overrides, f"hydra.run.dir={run_dir}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    result = json.loads((run_dir / "result.json").read_text()) if (run_dir / "result.json").exists() else {}
    return proc, result


def test_two_epoch_run_writes_complete_result(tmp_path):
    proc, result = run_genarch(tmp_path, *TINY, "seed=3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert RESULT_KEYS <= set(result)
    assert result["status"] == "ok" and result["error"] is None
    assert result["objective"]["name"] == "val_auroc" and result["objective"]["direction"] == "maximize"
    assert 0.5 <= result["objective"]["value"] <= 1.0
    assert result["objective"]["value"] == pytest.approx(result["metrics"]["val"]["auroc"])
    assert {"auroc", "auprc", "accuracy", "loss"} <= set(result["metrics"]["test"])
    assert result["epochs"] == 2 and result["seed"] == 3 and result["task"] == "binary"
    assert result["n_params"] > 1000 and result["wall_time_s"] > 0
    if platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64"):  # CPUs with flush-to-zero
        assert result["extra"]["subnormals_flushed"] is True
    hp = result["hparams"]
    assert hp["model.name"] == "attentionnet_small" and hp["model.stem.filters"] == 32 and hp["trainer.max_epochs"] == 2
    assert "trainer=smoke" in result["overrides"]
    assert (tmp_path / "run" / "model.pt").exists()
    assert "architecture" in proc.stdout and "objective val_auroc" in proc.stdout


def test_failed_run_records_error_and_exits_nonzero(tmp_path):
    proc, result = run_genarch(tmp_path, *TINY, "objective.name=val_nonexistent")
    assert proc.returncode != 0
    assert result["status"] == "failed"
    assert "val_nonexistent" in result["error"]
    assert result["objective"]["value"] is None
    assert result["hparams"]["model.name"] == "attentionnet_small"


def test_illegal_model_fails_before_training_with_keys(tmp_path):
    proc, result = run_genarch(tmp_path, *TINY, "model/rnn=lstm", "model.rnn.output=last")
    assert proc.returncode != 0
    assert result["status"] == "failed"
    assert "model.rnn.output" in result["error"] and "model.pooling.kind" in result["error"]
    assert result["epochs"] == 0


def test_non_finite_loss_is_reported():
    import torch
    from torch import nn

    from genarch.training.module import NonFiniteLoss, SequenceModule

    class Exploding(nn.Module):
        def forward(self, x):
            return torch.full((len(x), 1), float("nan"))

    module = SequenceModule(Exploding(), "binary", {"name": "adam", "base_lr": 1e-3}, ["y"])
    batch = (torch.zeros(4, 4, 10, dtype=torch.uint8), torch.ones(4, 1))
    with pytest.raises(NonFiniteLoss, match="non-finite"):
        module.training_step(batch, 0)


def test_same_seed_same_result(tmp_path):
    _, first = run_genarch(tmp_path / "a", *TINY, "seed=5")
    _, second = run_genarch(tmp_path / "b", *TINY, "seed=5")
    assert first["objective"]["value"] == second["objective"]["value"]
    assert first["metrics"] == second["metrics"]


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["+stage=3", "-m"], ["+stage='3'", "-m"]),
        (["+stage=4a"], ["+stage='4a'"]),
        (["stage=12", "seed=1"], ["stage='12'", "seed=1"]),
        (["++stage=2"], ["++stage='2'"]),
        (["+stage='3'"], ["+stage='3'"]),
        (["model.stage=3"], ["model.stage=3"]),
        (["+stage=choice(1,2)"], ["+stage=choice(1,2)"]),
    ],
)
def test_stage_arguments_are_quoted(argv, expected):
    assert quote_stage_args(argv) == expected


RAY = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
SUBMITIT = "hydra_plugins.hydra_submitit_launcher.submitit_launcher"


@pytest.mark.parametrize(
    "setting,launcher,cores,expected",
    [
        ("auto", None, 2, 2),
        ("auto", {"_target_": JOBLIB, "n_jobs": 2}, 2, 1),
        ("auto", {"_target_": JOBLIB, "n_jobs": -1}, 2, 1),
        ("auto", {"_target_": JOBLIB, "n_jobs": 3}, 2, 1),
        ("auto", {"_target_": JOBLIB, "n_jobs": 2}, 16, 8),
        ("auto", {"_target_": f"{SUBMITIT}.LocalLauncher", "array_parallelism": 4}, 16, 4),
        ("auto", {"_target_": f"{SUBMITIT}.LocalLauncher", "_workers": 2}, 2, 1),
        ("auto", {"_target_": JOBLIB, "n_jobs": 8, "_workers": 2}, 8, 4),
        ("auto", {"_target_": f"{SUBMITIT}.SlurmLauncher", "_workers": 8}, 4, 4),
        (3, None, 2, 3),
        # Ray on this machine: trials of ray.remote.num_cpus each, within ray.init.num_cpus
        ("auto", {"_target_": RAY, "ray": {"init": {"num_cpus": None}, "remote": {"num_cpus": 1}},
                  "_workers": 2}, 16, 8),
        ("auto", {"_target_": RAY, "ray": {"init": {"num_cpus": None}, "remote": {"num_cpus": 1}},
                  "_workers": 32}, 16, 1),
        ("auto", {"_target_": RAY, "ray": {"init": {}, "remote": {"num_cpus": 4}}, "_workers": 8}, 16, 4),
        ("auto", {"_target_": RAY, "ray": {"init": {"num_cpus": 2}, "remote": {"num_cpus": 1}}, "_workers": 8}, 16, 1),
        ("auto", {"_target_": RAY, "ray": {"init": {"num_cpus": 8}, "remote": {}}, "_workers": 2}, 16, 4),
        # a remote cluster: the CPUs Ray reserved for the trial, whatever this node's count
        ("auto", {"_target_": RAY, "ray": {"init": {"address": "ray://head:10001"}, "remote": {"num_cpus": 4}},
                  "_workers": 16}, 16, 4),
        ("auto", {"_target_": RAY.replace("RayLauncher", "RayAWSLauncher"), "ray": {"remote": {"num_cpus": 8}},
                  "_workers": 8}, 8, 8),
        ("auto", {"_target_": RAY, "ray": {"init": {"address": "local"}, "remote": {"num_cpus": 1}},
                  "_workers": 2}, 16, 8),
        ("auto", {"_target_": RAY, "ray": {"init": {"num_cpus": 2}, "remote": {"num_cpus": 0.5}},
                  "_workers": 8}, 16, 1),
        ("auto", {"_target_": RAY, "ray": {"init": {"num_cpus": 4}, "remote": {"num_cpus": 0.5}},
                  "_workers": 2}, 16, 2),
    ],
)
def test_threads_split_cores_between_parallel_trials(monkeypatch, setting, launcher, cores, expected):
    import genarch.training.threads as threads

    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    hydra_cfg = None
    if launcher is not None:
        launcher = dict(launcher)
        workers = launcher.pop("_workers", None)
        hydra_cfg = {"launcher": launcher, "sweeper": {"num_workers": workers} if workers else {}}
    assert choose_threads(setting, hydra_cfg) == expected
    if launcher is None:
        assert parallel_trials(None) == 1


def test_result_json_nan_objective_becomes_null(tmp_path):
    from genarch.result import Objective, RunResult, read_result

    RunResult(status="failed", objective=Objective("val_auroc", "maximize", math.nan)).write(tmp_path)
    assert read_result(tmp_path)["objective"]["value"] is None


STAGE_HEAD = "# @package _global_\ndefaults:\n  - override /hydra/sweeper: genarch\nhydra:\n  sweeper:\n"


@pytest.mark.parametrize("text, argv, expected", [
    (STAGE_HEAD + "    params:\n      model.stem.filters: choice(8, 16\n    budget: [1\n", ["+stage=mine"],
     r"mine.yaml:8:13: not valid YAML \(while parsing a flow sequence: expected ',' or '\]', but got '<stream end>' "
     r"at line 9, column 1\)"),
    (STAGE_HEAD + "    params:\n\tmodel.stem.filters: choice(8, 16)\n", ["stage=mine"],
     r"mine.yaml:7:1: not valid YAML"),
    (STAGE_HEAD + "    budget: 2\n", ["+stage=mine"], None),       # valid
    ("a: [1\n", ["~stage=mine"], None),                           # a delete reads no file
    ("a: [1\n", ["model.stem.filters=8"], None),                  # no stage
])
def test_a_stage_file_that_is_not_yaml_is_named_alone(tmp_path, text, argv, expected):
    """Hydra prints this error below a traceback of ~100 lines of its own frames."""
    from genarch.__main__ import stage_yaml_error

    (tmp_path / "stage").mkdir()
    (tmp_path / "stage" / "mine.yaml").write_text(text)
    error = stage_yaml_error([f"hydra.searchpath=[file://{tmp_path}]", *argv])
    if expected is None:
        assert error is None
    else:
        assert error.startswith(str(tmp_path / "stage" / "mine.yaml")) and re.search(expected, error)


def test_a_bad_stage_range_and_bad_stage_yaml_are_reported_without_a_traceback(tmp_path):
    (tmp_path / "stage").mkdir()
    (tmp_path / "stage" / "rng.yaml").write_text(STAGE_HEAD + "    budget: 2\n    params:\n"
                                                 "      model.head.dropout: interval(0.5, 0.1)\n")
    (tmp_path / "stage" / "bad.yaml").write_text(STAGE_HEAD + "    budget: [2\n")
    env = {**os.environ, "GENARCH_CACHE": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "0"}
    for stage, code, message in (
            ("rng", 1, f"genarch sweeper (stage file {tmp_path / 'stage' / 'rng.yaml'}): model.head.dropout="
                       "interval(0.5, 0.1): interval needs lower < upper"),
            ("bad", 2, f"genarch: {tmp_path / 'stage' / 'bad.yaml'}:6:13: not valid YAML")):
        proc = subprocess.run([sys.executable, "-m", "genarch", f"hydra.searchpath=[file://{tmp_path}]",
                               f"+stage={stage}", f"hydra.sweep.dir={tmp_path / 'sweep'}", "-m"], cwd=REPO,
                              capture_output=True,
                              text=True, env=env, timeout=120)
        assert proc.returncode == code and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("mode, progress, shown", [("RUN", True, True), ("MULTIRUN", True, False),
                                                    ("RUN", False, False), ("MULTIRUN", False, False)])
def test_trial_progress_bar_is_off_inside_a_multirun(mode, progress, shown):
    """A sweep's live display holds the terminal: a trial of a Hydra multirun draws no Lightning bar over it,
    whatever ``trainer.progress`` says (``genarch -m trainer.batch_size=25,50`` keeps trainer=default)."""
    from hydra import compose, initialize_config_module
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    from genarch.training.runner import show_progress

    with initialize_config_module("genarch.conf", version_base=None):
        cfg = compose("config", overrides=[f"trainer.progress={str(progress).lower()}"], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.mode = mode
    HydraConfig.instance().set_config(cfg)
    try:
        assert show_progress(cfg.trainer) is shown
    finally:
        HydraConfig.instance().cfg = None
    assert show_progress(OmegaConf.create({"progress": progress})) is progress  # no Hydra: trainer.progress
