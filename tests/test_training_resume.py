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
