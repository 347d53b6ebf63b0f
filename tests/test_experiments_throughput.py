"""experiments/bench_throughput.py on CPU with tiny sizes: both loops train the configured model, the
report names the device and the command; on GPU-less machines the utilisation sampler reports nothing."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from genarch.training.devices import TrainingDevice

BENCH = Path(__file__).resolve().parents[1] / "experiments" / "bench_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_throughput", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_mode_writes_a_side_by_side_report(bench, tmp_path):
    out = tmp_path / "t.json"
    bench.main(["--n", "400", "--rounds", "2", "--threads", "1", "--batch-size", "50", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["device_name"] and report["model"] == "attentionnet"
    assert len(report["seq_per_s"]["genarch"]) == len(report["seq_per_s"]["bare"]) == 2
    assert all(r > 0 for r in report["seq_per_s"]["genarch"] + report["seq_per_s"]["bare"])
    assert report["ratio_genarch_over_bare"] == pytest.approx(float(np.median(report["paired_ratios"])))
    assert report["command"].endswith(f"--out {out}") and report["target"] == 0.95
    # the same form as experiments/README.md and gpu_check.sh use
    assert report["command"].startswith("python -m experiments.bench_throughput ")


def test_promoternet_regression_case_trains_in_both_loops(bench):
    model_cfg, optimizer_cfg = bench.model_configs("promoternet")
    split = bench.random_split(60, 2000, 0)
    split = type(split)(split.x, np.random.default_rng(1).normal(size=(60, 1)).astype(np.float32))
    device = TrainingDevice("cpu", None, "cpu", "32-true", None, False, True)
    assert bench.bare_epoch(model_cfg, optimizer_cfg, split, 20, 0, device, "regression") > 0
    assert bench.genarch_epoch(model_cfg, optimizer_cfg, split, 20, 0, device, "regression") > 0


def _no_gpu(*args, **kwargs):
    raise RuntimeError("no NVML, no nvidia-smi")


def test_utilisation_without_a_gpu_reports_nothing(bench, monkeypatch):
    # neither source answers, whatever this machine has (a GPU machine has NVML and nvidia-smi)
    monkeypatch.setattr(bench.torch.cuda, "utilization", _no_gpu)
    monkeypatch.setattr(bench.subprocess, "run", _no_gpu)
    with bench.Utilisation(0, period=0.01) as sampler:
        pass
    assert sampler.source is None and sampler.mean is None


def test_utilisation_reads_nvml_where_there_is_a_gpu(bench, monkeypatch):
    monkeypatch.setattr(bench.torch.cuda, "utilization", lambda index=None: 42)
    with bench.Utilisation(0, period=0.01) as sampler:
        bench.time.sleep(0.3)
    assert sampler.source == "nvml" and sampler.mean == pytest.approx(42.0)
