"""Typed ledger records: one writer, one reader; an end record carries its own params."""

import json

import pytest

from genarch.ledger import (
    LEDGER_FILE, EndRecord, StartRecord, append_record, finished_trials, load_trials, write_record,
)


def test_records_written_typed_read_back_as_trials(tmp_path):
    write_record(tmp_path, StartRecord(0, {"x": 1}, ["x=1"], stage="3"))
    write_record(tmp_path, EndRecord(0, "ok", {"x": 1}, objective_name="val_auroc", direction="maximize", value=0.8,
                                     overrides=["x=1"], dir="0"))
    write_record(tmp_path, StartRecord(1, {"x": 2}, ["x=2"]))  # still running
    write_record(tmp_path, StartRecord(2, {"x": 3}, ["x=3"]))
    write_record(tmp_path, EndRecord(2, "failed", {"x": 3}, error="KeyboardInterrupt: ", interrupted=True))
    write_record(tmp_path, EndRecord(3, "failed", {"x": 4}, error="ConfigError: too wide", rejected=True,
                                     overrides=["x=4"], writer="sweeper"))
    assert [t.job for t in load_trials(tmp_path)] == [0, 1, 2, 3]
    done = finished_trials(tmp_path)
    assert [t.job for t in done] == [0, 3]  # the running and the interrupted job did not finish
    assert done[0].ok and done[0].value == 0.8 and done[0].direction == "maximize" and done[0].stage == "3"
    assert done[1].rejected and not done[1].ok and done[1].overrides == ["x=4"]


def test_an_end_record_keeps_its_own_params_over_a_start_record_under_its_job_number(tmp_path):
    # another sweep's start record under the same job number must not lend its params to this end record
    write_record(tmp_path, StartRecord(6, {"seed_of": "other"}, ["seed_of=other"]))
    write_record(tmp_path, EndRecord(6, "ok", {"seed_of": "mine"}, value=0.5, overrides=["seed_of=mine"]))
    (trial,) = finished_trials(tmp_path)
    assert trial.params == {"seed_of": "mine"} and trial.overrides == ["seed_of=mine"]


def test_a_rung_record_is_skipped_by_the_reader(tmp_path):
    write_record(tmp_path, StartRecord(0, {"x": 1}, ["x=1"]))
    append_record(tmp_path, {"job": 0, "event": "rung", "rung": 1, "value": 0.3})
    write_record(tmp_path, EndRecord(0, "ok", {"x": 1}, value=0.7))
    (trial,) = finished_trials(tmp_path)
    assert trial.value == 0.7 and trial.ended


def test_a_ledger_of_the_earlier_format_still_reads(tmp_path):
    # records as the code before typed records wrote them: no overrides on a trial's end record, fewer fields
    lines = [{"job": 0, "event": "start", "status": "running", "params": {"x": 1}, "overrides": ["x=1"],
              "stage": None, "time": 1.0},
             {"job": 0, "event": "end", "status": "ok", "params": {"x": 1},
              "objective": {"name": "val_auroc", "direction": "maximize", "value": 0.9}, "metrics": {},
              "n_params": 10, "epochs": 1, "wall_time_s": 1.0, "error": None, "dir": "0", "writer": "trial",
              "time": 2.0},
             {"job": 1, "event": "start", "status": "running", "params": {"x": 2}},
             {"job": 1, "event": "end", "status": "failed", "params": {"x": 2}, "error": "SIGTERMException: "}]
    (tmp_path / LEDGER_FILE).write_text("".join(json.dumps(r) + "\n" for r in lines))
    trials = load_trials(tmp_path)
    assert [t.job for t in finished_trials(tmp_path)] == [0]
    assert trials[0].overrides == ["x=1"] and trials[1].interrupted


def test_an_end_record_refuses_a_status_it_cannot_have():
    with pytest.raises(ValueError, match="ok or failed"):
        EndRecord(0, "running", {})


def test_the_trial_reads_its_params_from_its_own_overrides(tmp_path):
    from genarch.sweeper.ledger_hook import own_params
    from genarch.sweeper.resume import save_state

    save_state(tmp_path, {"param_order": ["model/rnn", "optimizer.lr_scale"]})
    overrides = ["+stage=3", "dataset.n=400", "model/rnn=lstm", "optimizer.lr_scale=0.5", "~summary"]
    assert own_params(tmp_path, overrides) == {"model/rnn": "lstm", "optimizer.lr_scale": 0.5}


@pytest.mark.parametrize("extra, n_train", [({"n_train": 2000}, 2000), ({"n_train": 2000.0}, 2000), ({}, None),
                                            ({"n_train": True}, None), ({"n_train": "2000"}, None)])
def test_an_end_record_keeps_the_training_sequences_a_rung_cost_needs(tmp_path, extra, n_train):
    """A rung's cost (epochs x sequences) is rebuilt from the ledger alone once the job folder is gone."""
    from genarch.ledger import EndRecord, load_trials, n_train_of, write_record

    assert n_train_of({"extra": extra}) == n_train
    write_record(tmp_path, EndRecord(3, "ok", {"x": 1}, value=0.5, n_train=n_train_of({"extra": extra})))
    trial = load_trials(tmp_path)[0]
    assert trial.record.get("n_train") == n_train and ("n_train" in trial.record) == (n_train is not None)
