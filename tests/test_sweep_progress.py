"""Watching a sweep: one console line per finished trial with k/N, the objective, the best so far,
elapsed and ETA; the per-trial detail in <sweep_dir>/sweep.log; the run summary in the job log."""

import io
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
from rich.console import Console

from genarch.sweeper.progress import SweepProgress, TrialDetailFilter, clock

TOY = Path(__file__).parent / "sweeper_toy.py"


@dataclass
class _Outcome:
    status: str
    value: Optional[float] = None
    direction: Optional[str] = "minimize"
    name: Optional[str] = "loss"
    error: Optional[str] = None


@dataclass
class _Cand:
    job: int
    outcome: _Outcome
    source: str = "new"


def _progress(budget=4, bar=False):
    buffer = io.StringIO()
    return SweepProgress(budget, console=Console(file=buffer, width=100, color_system=None), bar=bar), buffer


def test_one_line_per_trial_with_best_so_far_and_eta():
    progress, buffer = _progress(budget=4)
    progress.batch_done([_Cand(0, _Outcome("ok", 0.5)), _Cand(1, _Outcome("ok", 0.3))])
    progress.batch_done([_Cand(2, _Outcome("failed", error="ValueError: boom\nsecond line")),
                         _Cand(3, _Outcome("ok", 0.3), source="cached"),
                         _Cand(4, _Outcome("rejected", error="ConfigError: illegal model config:\n  - x"))])
    progress.close()
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("trial 1/4 (job 0)  loss 0.5  best 0.5  elapsed ")
    assert lines[1].startswith("trial 2/4 (job 1)  loss 0.3  best 0.3  elapsed ")  # minimised: 0.3 beats 0.5
    assert lines[2].startswith("trial 3/4 (job 2)  failed: ValueError: boom second line  best 0.3")
    assert lines[3] == "rejected (job 4): ConfigError: illegal model config: - x"
    assert all(re.search(r"ETA (\d+:\d\d|\?)$", line) for line in lines[:3])
    assert lines[4].startswith("sweep done: 3 trials (2 ok, 1 failed), 1 rejected, 1 cached, in ")
    assert lines[4].endswith("best loss 0.3 (job 1)")
    assert progress.done == 3 and progress.eta() is not None


def test_maximised_best_and_replayed_trials_are_marked():
    progress, buffer = _progress(budget=3)
    progress.batch_done([_Cand(0, _Outcome("ok", 0.6, "maximize", "val_auroc"))], replayed={0: object()})
    assert progress.eta() is None  # no trial ran in this process yet: no rate to extrapolate
    progress.batch_done([_Cand(1, _Outcome("ok", 0.7, "maximize", "val_auroc"))])
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("trial 1/3 (job 0 replayed)  val_auroc 0.6  best 0.6") and lines[0].endswith("ETA ?")
    assert lines[1].startswith("trial 2/3 (job 1)  val_auroc 0.7  best 0.7")


def test_clock():
    assert [clock(s) for s in (None, 0, 59.6, 61, 3600 + 62)] == ["?", "0:00", "1:00", "1:01", "1:01:02"]


def test_the_bar_is_drawn_on_a_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=True, color_system=None)
    progress = SweepProgress(2, console=console)
    assert progress._progress is not None
    progress.batch_done([_Cand(0, _Outcome("ok", 1.0))])
    progress.close()
    assert "trial 1/2 (job 0)" in buffer.getvalue() and progress.closed and progress._progress is None


def test_the_console_filter_keeps_warnings_and_drops_detail():
    def record(name, level, msg):
        return logging.LogRecord(name, level, __file__, 1, msg, (), None)

    f = TrialDetailFilter()
    assert not f.filter(record("hydra._internal.core_plugins.basic_launcher", logging.INFO, "\t#0 : x=1"))
    assert not f.filter(record("genarch.sweeper._impl", logging.INFO, "job %s (%s) %s  %s"))
    assert f.filter(record("genarch.sweeper._impl", logging.INFO, "genarch sweeper: %s, budget %d"))
    assert f.filter(record("genarch.sweeper._impl", logging.WARNING, "job %s stopped"))
    assert f.filter(record("hydra_plugins.hydra_joblib_launcher._core", logging.ERROR, "worker died"))


@pytest.mark.slow
def test_a_real_sweep_prints_one_line_per_trial_and_logs_the_detail(tmp_path):
    sweep = tmp_path / "s"
    proc = subprocess.run([sys.executable, str(TOY), f"hydra.sweep.dir={sweep}", "hydra.sweeper.budget=4", "-m"],
                          capture_output=True, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"}, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    trial_lines = [line for line in out.splitlines() if line.startswith("trial ")]
    assert [line.split()[1] for line in trial_lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert all(" best " in line and " elapsed " in line and " ETA " in line for line in trial_lines)
    assert "{'" not in out and "#0 :" not in out and "Launching" not in out  # no parameter dicts, no launcher lines
    assert "sweep done: 4 trials (4 ok, 0 failed)" in out
    log = (sweep / "sweep.log").read_text()
    assert "#0 : " in log and re.search(r"job 3 \(new\) [\d.]+  \{'x'", log) and "best: job" in log
