"""A trial cut off by SIGTERM or Ctrl-C is recorded as interrupted, not as a failure, and a resumed
sweep runs it again (records of older versions, which only say ``SIGTERMException: ...``, too)."""

import json

import pytest
from omegaconf import OmegaConf
from pytorch_lightning.utilities.exceptions import SIGTERMException

import genarch.training
from genarch import app
from genarch.ledger import append_record, is_interrupted, load_trials
from genarch.sweeper import ledger_hook
from genarch.sweeper.resume import ended_trials


@pytest.mark.parametrize("record, expected", [
    ({"event": "end", "status": "ok", "error": None}, False),
    ({"event": "end", "status": "failed", "error": "ValueError: illegal model"}, False),
    ({"event": "end", "status": "failed", "error": "SIGTERMException: ", "interrupted": True}, True),
    ({"event": "end", "status": "failed", "error": "KeyboardInterrupt: ", "interrupted": True}, True),
    ({"event": "end", "status": "failed", "error": "SIGTERMException: "}, True),      # written before the flag
    ({"event": "end", "status": "failed", "error": "KeyboardInterrupt: "}, True),
    ({"event": "end", "status": "failed", "error": "RuntimeError: SIGTERMException inside"}, False),
    ({"event": "end", "status": "ok", "error": "SIGTERMException: "}, False),
])
def test_is_interrupted(record, expected):
    assert is_interrupted(record) is expected


def test_resume_replays_finished_jobs_and_reruns_interrupted_ones(tmp_path):
    def job(n, *ends):
        append_record(tmp_path, {"job": n, "event": "start", "status": "running", "params": {"x": n}})
        for end in ends:
            append_record(tmp_path, {"job": n, "event": "end", "params": {"x": n}, "objective": {"value": None}, **end})

    ok = {"status": "ok", "objective": {"value": 0.7}, "error": None}
    job(0, ok)
    job(1, {"status": "failed", "error": "ValueError: illegal model"})
    job(2, {"status": "failed", "error": "SIGTERMException: ", "interrupted": True})
    job(3, {"status": "failed", "error": "SIGTERMException: "})
    job(4)                                                   # in flight: a start and no end
    job(5, {"status": "failed", "error": "KeyboardInterrupt: ", "interrupted": True})
    job(5, ok)                                               # ... then run again on resume, and finished
    finished, interrupted = ended_trials(tmp_path)
    assert sorted(finished) == [0, 1, 5]
    assert interrupted == [2, 3]
    rerun = load_trials(tmp_path)[5]
    assert rerun.status == "ok" and rerun.value == 0.7 and "interrupted" not in rerun.record and rerun.error is None


@pytest.mark.parametrize("exc, interrupted", [
    (SIGTERMException(), True),
    (KeyboardInterrupt(), True),
    (ValueError("illegal model"), False),
])
def test_run_records_an_interruption_as_such(tmp_path, monkeypatch, caplog, exc, interrupted):
    def train(*args, **kwargs):
        raise exc

    ledger_dir = tmp_path / "sweep"
    monkeypatch.setattr(genarch.training, "train", train)
    monkeypatch.setattr(ledger_hook, "sweep_context", lambda: (ledger_dir, 3, tmp_path / "run"))
    monkeypatch.setattr(app, "record_trial_end", ledger_hook.record_trial_end)
    cfg = OmegaConf.create({"objective": {"name": "val_auroc", "direction": "maximize"}, "seed": 0})
    with pytest.raises(type(exc)):
        app.run(cfg, tmp_path / "run")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "failed" and result["error"].startswith(type(exc).__name__)
    assert bool(result["extra"].get("interrupted")) is interrupted
    (trial,) = load_trials(ledger_dir)
    assert trial.job == 3 and trial.status == "failed" and is_interrupted(trial.record) is interrupted
    assert sorted(ended_trials(ledger_dir)[0]) == ([] if interrupted else [3])
    # the log says so too: before, an interruption was logged as an error, "run failed: SIGTERMException"
    (said,) = [r for r in caplog.records if r.name == app.log.name and "run " in r.getMessage()]
    assert (said.levelname, said.getMessage().split(" (")[0].split(":")[0]) == (
        ("WARNING", "run interrupted") if interrupted else ("ERROR", "run failed"))
