"""Training on input where the objective cannot be measured fails at once, naming the key: an
objective that is not a logged validation metric, a validation split with one class or a constant
target. A non-finite metric is logged as the worst value in its own direction."""

import math

import numpy as np
import pytest
import torch

from genarch.data import ArraySplit, DataBundle
from genarch.data.errors import DataError
from genarch.training.metrics import resolve_objective
from genarch.training.runner import check_val_can_score


@pytest.mark.parametrize("task, name, direction, expected", [
    ("binary", "auto", "auto", ("val_auroc", "maximize")),
    ("binary", "val_loss", "auto", ("val_loss", "minimize")),
    ("binary", "val_auprc", "minimize", ("val_auprc", "minimize")),
    ("regression", "auto", "auto", ("val_pearson_r", "maximize")),
    ("regression", "val_mse", "auto", ("val_mse", "minimize")),
    ("binary", "test_auroc", "auto", "objective.name='test_auroc' is not a validation metric of a binary task"),
    ("regression", "val_pearson_r/expr", "auto", "is not a validation metric of a regression task"),
    ("regression", "val_auroc", "auto", "use one of val_pearson_r, val_mse, val_loss"),
    ("binary", "val_auroc", "up", "objective.direction='up' must be maximize, minimize or auto"),
])
def test_objective_is_a_logged_validation_metric(task, name, direction, expected):
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            resolve_objective(task, name, direction)
    else:
        assert resolve_objective(task, name, direction) == expected


def _bundle(task, y_val, names=("y",)):
    y_val = np.asarray(y_val, dtype=np.float32).reshape(len(y_val), -1)
    x = np.zeros((len(y_val), 4, 10), dtype=np.uint8)
    split = ArraySplit(x=x, y=y_val)
    return DataBundle(train=split, val=split, test=None, task=task, target_names=list(names), name="toy")


@pytest.mark.parametrize("task, y_val, names, objective, message", [
    ("binary", [1, 1, 1], ("y",), "val_auroc", r"holds only label \[1.0\], so val_auroc is undefined"),
    ("binary", [0, 0], ("y",), "val_auprc", "so val_auprc is undefined"),
    ("regression", [[1, 2], [1, 3], [1, 4]], ("a", "b"), "val_pearson_r", r"target\(s\) \['a'\] are constant"),
])
def test_a_validation_split_that_cannot_score_the_objective_is_refused(task, y_val, names, objective, message):
    with pytest.raises(DataError, match=message) as err:
        check_val_can_score(_bundle(task, y_val, names), objective)
    assert err.value.key == "val_fraction"


@pytest.mark.parametrize("task, y_val, names, objective", [
    ("binary", [1, 1, 1], ("y",), "val_loss"),        # the loss is defined on one class
    ("binary", [0, 1, 0], ("y",), "val_auroc"),
    ("regression", [[1], [1]], ("a",), "val_mse"),
])
def test_a_validation_split_that_can_score_the_objective_passes(task, y_val, names, objective):
    check_val_can_score(_bundle(task, y_val, names), objective)


@pytest.mark.parametrize("task, names, expected", [
    ("regression", ["y"], {"val_mse": 1e9, "val_loss": 1e9, "val_pearson_r": -1e9}),
    ("binary", ["y"], {"val_auroc": -1e9, "val_auprc": -1e9, "val_accuracy": -1e9, "val_loss": 1e9}),
])
def test_a_nan_metric_is_logged_as_the_worst_value_in_its_direction(task, names, expected):
    from torch import nn

    from genarch.training.module import SequenceModule

    class Nan(nn.Module):
        def forward(self, x):
            return torch.full((len(x), 1), math.nan)

    module = SequenceModule(Nan(), task, {"name": "adam", "base_lr": 1e-3}, names)
    logged = {}
    module.log = lambda name, value, **kwargs: logged.__setitem__(name, value)
    module.validation_step((torch.zeros(3, 4, 10, dtype=torch.uint8), torch.tensor([[0.0], [1.0], [0.0]])), 0)
    module.on_validation_epoch_end()
    assert logged == expected


def test_binary_auroc_is_per_output_and_averaged_like_pearson_r():
    from genarch.training.metrics import binary_metrics

    y = np.array([[0, 1], [1, 0], [0, 1], [1, 0]], dtype=float)
    logits = np.array([[0.1, 10], [0.2, -10], [0.0, 9], [0.3, -9]])  # each output ranked perfectly on its own
    out = binary_metrics(logits, y, ["a", "b"])
    assert out["auroc/a"] == out["auroc/b"] == out["auroc"] == 1.0  # pooling the outputs gave 0.75
    single = binary_metrics(logits[:, :1], y[:, :1], ["a"])
    assert list(single) == ["auroc", "auprc", "accuracy", "loss"] and single["auroc"] == 1.0


@pytest.mark.parametrize("n, batch_size, shuffle, sizes", [
    (26, 25, True, [26]),            # a last batch of one joins the one before it
    (51, 25, True, [25, 26]),
    (50, 25, True, [25, 25]),
    (27, 25, True, [25, 2]),
    (1, 25, True, [1]),              # one record in all: nothing to merge with
    (26, 25, False, [25, 1]),        # evaluation batches are left as they are (no BatchNorm update)
])
def test_training_never_sees_a_batch_of_one(n, batch_size, shuffle, sizes):
    from genarch.training.batches import ShuffledBatches

    sampler = ShuffledBatches(n, batch_size, shuffle, seed=0)
    batches = list(sampler)
    assert [len(b) for b in batches] == sizes and len(sampler) == len(sizes)
    assert sorted(torch.cat(batches).tolist()) == list(range(n))


def test_head_batchnorm_trains_when_the_last_batch_would_hold_one_record():
    """``model.head.batchnorm`` is a stage-1 choice; 26 records in batches of 25 used to fail in the
    first epoch ("Expected more than 1 value per channel when training")."""
    import pytorch_lightning as pl
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from genarch.model import GenomicNet
    from genarch.training.batches import make_loader
    from genarch.training.module import SequenceModule

    with initialize_config_module("genarch.conf", version_base="1.3"):
        model = OmegaConf.to_container(compose("config", overrides=["model.head.batchnorm=true"]).model, resolve=True)
    assert model["head"]["layers"] >= 1
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (26, 50))].transpose(0, 2, 1).copy()
    split = ArraySplit(x=x, y=(np.arange(26) % 2).astype(np.float32)[:, None])
    module = SequenceModule(GenomicNet(model, 50, 1), "binary", {"name": "adam", "base_lr": 1e-3}, ["y"])
    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, make_loader(split, 25, True, 0))
    assert trainer.current_epoch == 1


@pytest.mark.parametrize("overrides, keys", [
    ({"batch_size": 0}, ["trainer.batch_size=0"]),
    ({"batch_size": -3, "eval_batch_size": 0}, ["trainer.batch_size=-3", "trainer.eval_batch_size=0"]),
    ({"batch_size": 12.5}, ["trainer.batch_size=12.5"]),
    ({"threads": "abc"}, ["trainer.threads='abc'"]),
    ({"threads": 0}, ["trainer.threads=0"]),
    ({"max_epochs": 0, "patience": -1}, ["trainer.max_epochs=0", "trainer.patience=-1"]),
    ({"min_delta": -0.1}, ["trainer.min_delta=-0.1"]),
    ({"target_scaling": "zscore"}, ["trainer.target_scaling='zscore'"]),
    ({"min_epochs": 3}, ["trainer.min_epochs=3"]),      # above max_epochs (2)
    ({"min_epochs": -1}, ["trainer.min_epochs=-1"]),
    ({"min_epochs": 1.5}, ["trainer.min_epochs=1.5"]),
    ({"min_epochs": 2}, []),
    ({}, []),
    ({"threads": 2, "batch_size": 1}, []),
])
def test_trainer_settings_that_cannot_drive_a_run_name_their_keys(overrides, keys):
    from genarch.model import ConfigError
    from genarch.training.runner import validate_trainer

    cfg = {"max_epochs": 2, "patience": 2, "batch_size": 50, "min_delta": 0.0, "threads": "auto",
           "eval_batch_size": 1000, **overrides}
    if not keys:
        validate_trainer(cfg)
        return
    with pytest.raises(ConfigError) as err:
        validate_trainer(cfg)
    for key in keys:
        assert key in str(err.value)


@pytest.mark.parametrize("min_epochs, epochs", [(None, 2), (4, 4)])
def test_min_epochs_keeps_early_stopping_from_ending_a_run_before_it(tmp_path, min_epochs, epochs):
    """With no epoch counting as an improvement after the first (min_delta 10) and patience 0, early stopping ends
    the run after epoch 2; ``++trainer.min_epochs=4`` makes it train 4 (of at most 6)."""
    from hydra import compose, initialize_config_module

    from genarch.training.runner import train

    overrides = ["trainer=smoke", "dataset.n=300", "++summary=false", "trainer.max_epochs=6", "trainer.patience=0",
                 "trainer.min_delta=10", "trainer.save_checkpoint=false", "logger=none",
                 *([f"++trainer.min_epochs={min_epochs}"] if min_epochs is not None else [])]
    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    assert train(cfg, tmp_path / "run").epochs == epochs
