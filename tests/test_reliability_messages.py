"""Every stop is a message (issue 36, case 3): a single run's bad input, a NaN loss, and a sweep stopped at
max_failure_rate end with a short ``genarch: ...`` saying what happened, what was kept and what to do, exit
status 2, and the traceback in the run's log file instead of the terminal."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def genarch(tmp_path: Path, *args: str, env: "dict | None" = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(REPO), "GENARCH_CACHE": str(tmp_path / "cache"), **(env or {})}
    environ.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([sys.executable, "-m", "genarch", *args], cwd=REPO, capture_output=True, text=True,
                          env=environ, timeout=400)


def _no_traceback(proc: subprocess.CompletedProcess) -> None:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "Error executing job" not in out and "\\n" not in out, out[-3000:]


def test_a_data_error_inside_hydras_instantiation_error_is_genarchs_own_message():
    from hydra.errors import InstantiationException

    from genarch.__main__ import bad_input, run_failure_message
    from genarch.data.errors import DataError

    try:
        try:
            raise DataError("/data/tfbs/deepbind_encode [experiment]: unknown experiment 'NOPE_K562'; "
                            "available:\n  A\n  B")
        except DataError as cause:
            raise InstantiationException("Error in call to target 'x':\nDataError(...)\nfull_key: dataset") from cause
    except InstantiationException as exc:
        exc.genarch_result = Path("/runs/r/result.json")
        assert isinstance(bad_input(exc), DataError)
        message = run_failure_message(exc)
    assert message.splitlines()[0] == ("/data/tfbs/deepbind_encode [experiment]: unknown experiment 'NOPE_K562'; "
                                       "available: (recorded in /runs/r/result.json)")
    assert message.splitlines()[1:] == ["  A", "  B"]


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "tfbs" / "deepbind_encode").is_dir(), reason="needs ../shared/data")
def test_an_unknown_experiment_is_a_genarch_message_with_exit_2(tmp_path):
    proc = genarch(tmp_path, "dataset=deepbind_encode", "dataset.experiment=NOPE_K562", "trainer=smoke",
                   f"hydra.run.dir={tmp_path / 'run'}", env={"GENARCH_DATA": str(DATA)})
    assert proc.returncode == 2
    assert proc.stderr.startswith("genarch: ") and "unknown experiment 'NOPE_K562'" in proc.stderr.splitlines()[0]
    _no_traceback(proc)


@pytest.mark.slow
def test_missing_data_is_one_genarch_line_with_exit_2(tmp_path):
    proc = genarch(tmp_path, "dataset=deepbind_encode", "trainer=smoke", f"hydra.run.dir={tmp_path / 'run'}",
                   env={"GENARCH_DATA": str(tmp_path / "nowhere")})
    assert proc.returncode == 2
    (line,) = [line for line in proc.stderr.splitlines() if line.strip()]
    assert line.startswith(f"genarch: {tmp_path / 'nowhere'}/tfbs/deepbind_encode: no DeepBind experiments found")
    assert line.endswith(f"(recorded in {tmp_path / 'run' / 'result.json'})") and len(line) < 400
    _no_traceback(proc)


@pytest.mark.slow
def test_a_nan_loss_is_a_short_message_and_the_traceback_is_in_the_log(tmp_path):
    run = tmp_path / "run"
    proc = genarch(tmp_path, "trainer=smoke", "dataset.n=400", "optimizer.lr_scale=1e12", "++summary=false",
                   f"hydra.run.dir={run}")
    assert proc.returncode == 2
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("genarch:")]
    assert line.startswith("genarch: the run failed: NonFiniteLoss: non-finite training loss (nan)")
    assert f"recorded in {run / 'result.json'}" in line and f"the traceback is in {run / '__main__.log'}" in line
    assert "lower optimizer.lr_scale" in line
    _no_traceback(proc)
    log = (run / "__main__.log").read_text()
    assert "Traceback (most recent call last)" in log and "NonFiniteLoss" in log


@pytest.mark.slow
def test_a_sweep_stopped_at_max_failure_rate_is_a_message_with_exit_2(tmp_path):
    sweep = tmp_path / "sweep"
    proc = genarch(tmp_path, "hydra/sweeper=genarch", "trainer=smoke", "dataset.n=400", "++summary=false",
                   "model/rnn=lstm", "model.rnn.output=last", "model.stem.filters=choice(4,8)",
                   "hydra.sweeper.validate=false", "hydra.sweeper.budget=2", f"hydra.sweep.dir={sweep}", "-m")
    assert proc.returncode == 2
    last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("genarch: stopped: 1 of 1 trials failed, over hydra.sweeper.max_failure_rate=0.25; "
                           f"finished trials are kept in {sweep} (ledger.jsonl)")
    assert "run the same command with a higher hydra.sweeper.max_failure_rate" in last
    assert last.endswith(f"(traceback in {sweep / 'error.log'})")
    _no_traceback(proc)
    assert "SweepStopped" in (sweep / "error.log").read_text()
