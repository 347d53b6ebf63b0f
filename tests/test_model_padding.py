"""A padded sequence gets the prediction it gets unpadded: features outside its span are zero after
every layer, pooling and attention see the span only, a recurrent layer runs over the span. Unpadded
batches take the plain path (fixed-length data computes as before)."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from genarch.data.base import to_float
from genarch.data.encode import one_hot
from genarch.model import GenomicNet
from genarch.model.masking import span_mask

CONF = str(Path(__file__).resolve().parents[1] / "genarch" / "conf")
SEQ = "ACGTTGCAAGCTTACGGATCCATGCAAATTTGGGCCCAGTACGTAGCT"  # 48 bp


def _model(*overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    return OmegaConf.to_container(cfg.model, resolve=True)


def _net(model, length):
    """A network whose padded features would not stay zero: random biases and BatchNorm statistics,
    as a trained one has."""
    torch.manual_seed(0)
    net = GenomicNet(model, length, 1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.Tensor):
                bias.uniform_(-0.5, 0.5)
    return net.eval()


def _x(seqs, length, mode="pad"):
    return to_float(torch.from_numpy(one_hot(seqs, 0, length, mode)))


ARCHITECTURES = {
    "attention": ["model=attentionnet"],
    "max": ["model=search", "model/pooling=max"],
    "mean": ["model=search", "model/pooling=mean"],
    "residual+maxpool": ["model=search", "model/pooling=mean", "model/residual=basic", "model.residual.before=1",
                         "model.residual.after=1", "model/reduction=maxpool", "model.reduction.stride=4"],
    "strided_conv": ["model=search", "model/pooling=attention", "model/reduction=strided_conv",
                     "model.reduction.stride=2"],
    "lstm sequence": ["model=search", "model/pooling=attention", "model/rnn=lstm", "model.rnn.bidirectional=true"],
    "gru last": ["model=search", "model/pooling=flatten", "model/rnn=gru", "model.rnn.output=last",
                 "model.rnn.bidirectional=true"],
    "deepbind (valid conv)": ["model=deepbind"],
    "deepmotif": ["model=deepmotif"],
    "promoternet": ["model=promoternet"],
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_padding_does_not_change_the_prediction(name):
    model = _model(*ARCHITECTURES[name])
    alone = _net(model, len(SEQ))(_x([SEQ], None))
    # centre 80: 16 bases each side; centre 83: 17 on the left, off every stride; a leading N run (read as
    # padding) of 1, 3 or 5 bases: a left pad is read at the network's stride phase (masking.align_phase)
    for length, mode, lead in ((64, "pad", 0), (96, "pad", 0), (80, "centre", 0), (83, "centre", 0),
                               (64, "pad", 1), (64, "pad", 3), (64, "pad", 5)):
        net = _net(model, length)
        # in a batch with a sequence that fills the length, as a dataset of varying lengths gives it
        batch = _x(["N" * lead + SEQ, (SEQ * 3)[:length]], length, mode)
        torch.testing.assert_close(net(batch)[0], alone[0], rtol=1e-5, atol=1e-5)


def test_attention_puts_no_weight_on_padding():
    net = _net(_model("model=attentionnet", "model.stem.filters=8"), 96)
    x = _x([SEQ, SEQ[:30]], 96)
    h, mask = net.features_and_mask(x)
    weights = net.attention.attention(h, mask)
    assert float(weights[0, 48:].sum()) == 0 and float(weights[1, 30:].sum()) == 0
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))


@pytest.mark.parametrize("seqs, expected", [
    (["ACGT", "TTGA"], None),             # nothing padded: the plain path
    (["ANNT", "TTGA"], None),             # an N inside a sequence is part of it
    (["ACG", "TTGA"], [[1, 1, 1, 0], [1, 1, 1, 1]]),
    (["NACG", "TTGA"], [[0, 1, 1, 1], [1, 1, 1, 1]]),  # an N run at an end (n_value 0) says nothing
    (["NNNN", "TTGA"], None),             # no informative base at all: nothing to mask to
])
def test_the_span_mask(seqs, expected):
    mask = span_mask(_x(seqs, 4))
    assert (mask is None) if expected is None else np.array_equal(mask.numpy(), np.array(expected, dtype=bool))


@pytest.mark.parametrize("name", ["residual+maxpool", "deepbind (valid conv)", "lstm sequence", "gru last"])
def test_a_sequence_shorter_than_a_window_is_read_whole_not_lost(name):
    """A 3-bp record under a stride-4 pool or a 24-bp detector leaves no position of its own: it is read
    whole (padding included, as without masks) instead of turning the batch into NaN or an empty RNN."""
    model = _model(*ARCHITECTURES[name])
    net = _net(model, 64)
    x = _x(["ACG", SEQ, (SEQ * 2)[:64]], 64)
    out = net(x)
    assert torch.isfinite(out).all()
    net.train()
    loss = net(x).sum()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


# ---- batch norm in training: statistics from the span only ----

@pytest.mark.parametrize("momentum", [0.1, None])
def test_masked_batch_norm_is_batch_norm_over_the_positions_in_the_spans(momentum):
    from genarch.model.masking import batch_norm_masked

    torch.manual_seed(0)
    h = torch.randn(3, 5, 20) * 2 + 1
    mask = torch.zeros(3, 20, dtype=torch.bool)
    mask[0, :20], mask[1, :7], mask[2, 4:15] = True, True, True
    ours = torch.nn.BatchNorm1d(5, momentum=momentum)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 2)
        ours.bias.uniform_(-1, 1)
    reference = copy.deepcopy(ours)
    for _ in range(2):  # two steps: the running statistics move as nn.BatchNorm1d moves them
        got = batch_norm_masked(ours.train(), h, mask).transpose(1, 2)[mask]
        want = reference.train()(h.transpose(1, 2)[mask])  # the in-span positions as one (N, C) batch
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(ours, name), getattr(reference, name))
    # evaluation (or no mask): batch norm itself, bit for bit
    assert torch.equal(batch_norm_masked(ours.eval(), h, mask), ours(h))
    assert torch.equal(batch_norm_masked(ours.train(), h, None), reference.train()(h))


TRAIN_BN = {  # architectures with batch norm over positions (trunk, residual, reduction, attention scores)
    "attention": ["model=attentionnet"],
    "residual+strided_conv": ["model=search", "model.stem.batchnorm=true", "model/pooling=attention",
                              "model/residual=basic", "model.residual.before=1", "model.residual.after=1",
                              "model/reduction=strided_conv", "model.reduction.stride=2", "model.head.batchnorm=true"],
    "lstm sequence": ["model=search", "model.stem.batchnorm=true", "model/pooling=mean", "model/rnn=lstm"],
    "promoternet": ["model=promoternet"],
}


def _training(model, length):
    """In float64: the step is compared to 1e-9, beyond float32's rounding of sums over many positions."""
    net = _net(model, length).train().double()
    for module in net.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return net


def _batch_norms(net):
    return [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d)]


@pytest.mark.parametrize("name", sorted(TRAIN_BN))
def test_a_training_step_on_a_padded_batch_is_the_step_on_it_unpadded(name):
    model = _model(*TRAIN_BN[name])
    seqs = [SEQ, SEQ[::-1]]
    alone = _training(model, len(SEQ))
    want = alone(_x(seqs, None).double())
    weights = torch.tensor([[1.0], [-2.0]], dtype=torch.float64)  # a plain sum has ~no gradient through batch norm
    (want * weights).sum().backward()
    for length, lead in ((64, 0), (96, 0), (64, 3)):  # lead: a left pad off the stride (a leading N run)
        net = _training(model, length)
        got = net(_x(["N" * lead + s for s in seqs], length).double())
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)
        (got * weights).sum().backward()
        for (name, ours), theirs in zip(net.named_parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-9, atol=1e-9, msg=lambda m: f"{name}: {m}")
        assert _batch_norms(net)
        for ours, theirs in zip(_batch_norms(net), _batch_norms(alone), strict=True):
            torch.testing.assert_close(ours.running_mean, theirs.running_mean, rtol=1e-9, atol=1e-9)
            torch.testing.assert_close(ours.running_var, theirs.running_var, rtol=1e-9, atol=1e-9)


def test_masked_batch_norm_refuses_one_position_and_keeps_half_precision_finite():
    from genarch.model.masking import batch_norm_masked

    one = torch.zeros(2, 6, dtype=torch.bool)
    one[0, 2] = True
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm_masked(torch.nn.BatchNorm1d(3).train(), torch.randn(2, 3, 6), one)
    # 70,000 positions: a float16 count or sum would overflow (max 65,504)
    h = (torch.randn(1, 2, 70000) + 3).half()
    out = batch_norm_masked(torch.nn.BatchNorm1d(2).half().train(), h, torch.ones(1, 70000, dtype=torch.bool))
    assert out.dtype == torch.float16 and bool(torch.isfinite(out).all())
    assert abs(float(out.float().mean())) < 1e-2
