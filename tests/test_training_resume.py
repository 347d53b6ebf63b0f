"""A promoted multi-fidelity rung continues training from the previous rung's Lightning checkpoint:
``trainer.save_last`` keeps checkpoints/last.ckpt, ``trainer.resume_from`` continues from it (weights,
optimizer, epoch, early-stopping and best-epoch state)."""

import pytest
import torch
from hydra import compose, initialize_config_module

from genarch.training.runner import train

TINY = ["trainer=smoke", "dataset.n=400", "trainer.patience=10", "++summary=false"]


def cfg(*overrides):
    with initialize_config_module("genarch.conf", version_base="1.3"):
        return compose("config", overrides=[*TINY, *overrides])


def test_a_resumed_run_continues_from_the_checkpoint_not_from_scratch(tmp_path):
    first = train(cfg("trainer.max_epochs=1", "++trainer.save_last=true", "seed=0"), tmp_path / "a")
    last = tmp_path / "a" / "checkpoints" / "last.ckpt"
    ckpt = torch.load(last, map_location="cpu", weights_only=False)
    assert ckpt["optimizer_states"] and any("BestWeights" in k for k in ckpt["callbacks"])
    assert any("EarlyStopping" in k for k in ckpt["callbacks"])
    # resumed at its own max_epochs: nothing more to train, so another learning rate still gives the first run's model
    again = train(cfg("trainer.max_epochs=1", f"++trainer.resume_from={last}", "optimizer.lr_scale=3"), tmp_path / "b")
    assert again.objective.value == pytest.approx(first.objective.value, abs=0)
    assert again.extra["best_epoch"] == first.extra["best_epoch"] == 0  # the best-epoch state came along
    scratch = train(cfg("trainer.max_epochs=1", "optimizer.lr_scale=3"), tmp_path / "c")
    assert scratch.objective.value != first.objective.value  # (what that learning rate gives from scratch)
    longer = train(cfg("trainer.max_epochs=3", f"++trainer.resume_from={last}"), tmp_path / "d")
    assert longer.epochs == 3


def test_a_missing_checkpoint_is_refused_naming_the_key(tmp_path):
    with pytest.raises(FileNotFoundError, match="trainer.resume_from="):
        train(cfg(f"++trainer.resume_from={tmp_path}/nothing.ckpt"), tmp_path / "x")


def test_a_run_killed_mid_training_continues_from_its_last_finished_epoch(tmp_path):
    """trainer.save_last rewrites checkpoints/last.ckpt after every epoch (not only at the end), so a run
    killed with SIGKILL continues from the epoch it finished (what experiments/grid.py does for a cell)."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    overrides = ["trainer.max_epochs=60", "trainer.patience=60", "trainer.progress=false", "trainer.threads=1",
                 "++trainer.save_last=true", "++summary=false", "dataset.n=2000", f"hydra.run.dir={out}"]
    proc = subprocess.Popen([sys.executable, "-m", "genarch", *overrides], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = out / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # let the first write finish
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert last.exists() and not (out / "result.json").exists()
    done = torch.load(last, map_location="cpu", weights_only=False)["epoch"]
    assert done < 59  # killed mid-training
    # continued for two more epochs (a shorter cap keeps the test quick): it starts after the finished ones
    resumed = train(cfg(f"trainer.max_epochs={done + 2}", "trainer.patience=60", "dataset.n=2000",
                        "++trainer.save_last=true", f"++trainer.resume_from={last}"), tmp_path / "resumed")
    assert resumed.epochs == done + 2 and resumed.extra["best_epoch"] is not None
    assert resumed.extra["seconds_before_resume"] > 0  # the killed run's training time is kept


def _logged_epochs(run_dir):
    import csv

    with open(run_dir / "csv" / "metrics.csv", newline="") as f:
        return [int(float(r["epoch"])) for r in csv.DictReader(f) if r.get("val_auroc")]  # duplicates would show


@pytest.mark.parametrize("where", ["same run dir (a killed grid cell)", "another run dir (a promoted rung)"])
def test_a_resumed_run_keeps_the_csv_rows_of_the_epochs_before_the_resume(tmp_path, where):
    """Lightning's CSVLogger deletes the metrics.csv it finds; the resumed run writes the earlier epochs' rows
    (up to the checkpoint's epoch) at its head, so the log covers every epoch."""
    first = tmp_path / "a"
    train(cfg("trainer.max_epochs=2", "trainer.patience=10", "++trainer.save_last=true", "logger=csv"), first)
    assert _logged_epochs(first) == [0, 1]
    resumed = first if where.startswith("same") else tmp_path / "b"
    train(cfg("trainer.max_epochs=4", "trainer.patience=10", "logger=csv",
              f"++trainer.resume_from={first / 'checkpoints' / 'last.ckpt'}"), resumed)
    assert _logged_epochs(resumed) == [0, 1, 2, 3]


def test_the_rows_kept_are_those_up_to_the_checkpoints_epoch(tmp_path):
    """A row of an epoch after the checkpoint's (trained again by the resumed run) and the end-of-run row
    (no epoch) are dropped; empty cells are left out."""
    from genarch.training.csv_history import rows_up_to

    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,train_loss,val_auroc\n0,9,0.7,\n0,9,,0.6\n1,19,,0.7\n2,29,,0.8\n,30,,0.75\n")
    assert rows_up_to(path, 1) == [{"epoch": "0", "step": "9", "train_loss": "0.7"},
                                   {"epoch": "0", "step": "9", "val_auroc": "0.6"},
                                   {"epoch": "1", "step": "19", "val_auroc": "0.7"}]


def test_a_checkpoint_outside_a_runs_checkpoints_folder_carries_no_rows(tmp_path):
    from genarch.training.csv_history import earlier_rows

    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "metrics.csv").write_text("epoch,val_auroc\n0,0.6\n")
    assert earlier_rows(tmp_path / "new" / "csv", tmp_path / "new", tmp_path / "x.ckpt") == []
