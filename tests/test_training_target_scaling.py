"""Regression targets are learnt standardised (trainer.target_scaling): a target far from 0 with a large
spread no longer leaves a network at r near 0, and predictions stay in the targets' own units."""

import numpy as np
import pytest
import torch

from genarch.data.base import ArraySplit
from genarch.training.runner import scale_targets


def _model():
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=["model=deepbind"])
    return OmegaConf.to_container(cfg.model, resolve=True)


def _data(n, seed):
    """Sequences of 40 bp; the target is 900 + 60 x (number of G) + noise: far from 0, spread 60 per G."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, 4, (n, 40))
    x = np.eye(4, dtype=np.uint8)[idx].transpose(0, 2, 1).copy()
    y = (900.0 + 60.0 * (idx == 2).sum(1) + rng.normal(0, 20, n)).astype(np.float32)[:, None]
    return ArraySplit(x=x, y=y)


def _fit(how):
    import pytorch_lightning as pl

    from genarch.model import GenomicNet
    from genarch.training.batches import make_loader
    from genarch.training.module import predict
    from genarch.training.module import SequenceModule

    pl.seed_everything(0, verbose=False)
    train, test = _data(800, 0), _data(300, 1)
    net = GenomicNet(_model(), 40, 1)
    scale_targets(net, train.y, how)
    module = SequenceModule(net, "regression", {"name": "adam", "base_lr": 1e-3}, ["y"])
    trainer = pl.Trainer(accelerator="cpu", max_epochs=8, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, make_loader(train, 50, True, 0))
    pred = predict(net.eval(), test.x, 300)[:, 0]
    return float(np.corrcoef(pred, test.y[:, 0])[0, 1]), pred, test.y[:, 0]


def test_standardised_targets_learn_what_raw_targets_do_not():
    r_std, pred, y = _fit("standardize")
    r_raw, _, _ = _fit("none")
    assert r_std > 0.6, r_std
    assert r_std > r_raw + 0.2, (r_std, r_raw)
    # the network maps back to the targets' units: predictions centre on the targets, not on 0
    assert abs(pred.mean() - y.mean()) < 0.5 * y.std()


def test_the_affine_map_is_the_training_targets_mean_and_std_per_output():
    from genarch.model import GenomicNet

    net = GenomicNet(_model(), 40, 2)
    y = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    assert scale_targets(net, y, "standardize") == "standardize"
    assert net.target_shift.tolist() == pytest.approx([3.0, 10.0])
    assert net.target_scale.tolist() == pytest.approx([np.std([1, 3, 5]), 1.0])  # a constant target: scale 1
    fresh = GenomicNet(_model(), 40, 2)
    scale_targets(fresh, y, "none")
    assert fresh.target_shift.tolist() == [0.0, 0.0] and fresh.target_scale.tolist() == [1.0, 1.0]


def test_the_map_is_saved_with_the_weights_and_an_older_state_loads_as_identity():
    from genarch.model import GenomicNet

    net = GenomicNet(_model(), 40, 1)
    scale_targets(net, np.array([[2.0], [4.0]]), "standardize")
    again = GenomicNet(_model(), 40, 1)
    again.load_state_dict(net.state_dict())
    assert again.target_shift.item() == 3.0 and again.target_scale.item() == 1.0
    old = {k: v for k, v in net.state_dict().items() if not k.startswith("target_")}  # before the map existed
    again.load_state_dict(old)
    assert again.target_shift.item() == 0.0 and again.target_scale.item() == 1.0
    x = torch.rand(3, 4, 40)
    again.eval()
    assert torch.equal(again(x), again.head(again.pool(*again.features_and_mask(x))))  # identity: the head's output


def test_a_lightning_checkpoint_saved_before_the_map_existed_resumes(tmp_path):
    """A rung resumed from an older last.ckpt loads the network through its LightningModule (nested load)."""
    from genarch.model import GenomicNet
    from genarch.training.module import SequenceModule

    module = SequenceModule(GenomicNet(_model(), 40, 1), "regression", {"name": "adam", "base_lr": 1e-3}, ["y"])
    old = {k: v for k, v in module.state_dict().items() if "target_" not in k}
    fresh = SequenceModule(GenomicNet(_model(), 40, 1), "regression", {"name": "adam", "base_lr": 1e-3}, ["y"])
    fresh.load_state_dict(old)  # strict, as Lightning loads it
    assert fresh.net.target_scale.item() == 1.0


def test_an_unknown_target_scaling_is_refused_naming_the_key():
    from genarch.model import GenomicNet

    with pytest.raises(ValueError, match=r"trainer.target_scaling='zscore'"):
        scale_targets(GenomicNet(_model(), 40, 1), np.ones((3, 1)), "zscore")
