"""Shared invariants of every attribution method, and the feature->base position map, over a table of
architectures (untrained networks: these properties hold for any weights)."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from genarch.interpret.attribution import METHODS, AttentionAttribution, make_attribution
from genarch.interpret.positions import position_map
from genarch.model import GenomicNet

L = 60

ARCHS = {
    "attentionnet": ["model=attentionnet_small"],
    "attention_stride4_meanpool": ["model=attentionnet_small", "model/reduction=meanpool", "model.reduction.stride=4"],
    "attention_strided_conv3": ["model=attentionnet_small", "model/reduction=strided_conv", "model.reduction.stride=3"],
    "attention_no_reduction": ["model=attentionnet_small", "model/reduction=none"],
    "deepmotif": ["model=deepmotif"],
    "deepbind_valid_conv": ["model=deepbind"],
    "attention_lstm": ["model=attentionnet_small", "model/rnn=lstm"],
    "attention_both_strands": ["model=attentionnet_small", "model/reduction=none", "+model.strands=both"],
    "attention_both_strands_stride2": ["model=attentionnet_small", "+model.strands=both"],
}


def build(overrides, n_outputs=2, seed=0):
    from hydra import compose, initialize_config_module

    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    torch.manual_seed(seed)
    net = GenomicNet(OmegaConf.to_container(cfg.model, resolve=True), L, n_outputs)
    net.eval()
    return net


@pytest.fixture(scope="module", params=sorted(ARCHS))
def arch(request):
    return request.param, build(ARCHS[request.param])


def random_onehot(n, length=L, seed=0):
    codes = np.random.default_rng(seed).integers(0, 4, size=(n, length))
    return np.eye(4, dtype=np.uint8)[codes].transpose(0, 2, 1).copy()


def applicable(net):
    return [name for name, cls in METHODS.items() if cls().applies_to(net)]


def test_attention_applies_exactly_to_models_with_attention(arch):
    name, net = arch
    assert ("attention" in applicable(net)) == (net.attention is not None)
    assert make_attribution("auto", net).name == ("attention" if net.attention is not None else "gradxinput")
    if net.attention is None:
        with pytest.raises(ValueError, match="no soft attention"):
            make_attribution("attention", net)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_shape_finite_peaks_in_range(arch, method):
    _, net = arch
    if not METHODS[method]().applies_to(net):
        pytest.skip("method does not apply")
    x = random_onehot(5)
    res = METHODS[method]()(net, x, 1)
    assert res.scores.shape == (5, L) and np.isfinite(res.scores).all()
    assert res.peaks.shape == (5,) and ((0 <= res.peaks) & (res.peaks < L)).all()
    assert res.output == (None if method == "attention" else 1)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_batch_independent_and_deterministic(arch, method):
    """A sequence's map does not depend on the batch it is computed in, nor on the batch size."""
    _, net = arch
    if not METHODS[method]().applies_to(net):
        pytest.skip("method does not apply")
    x = random_onehot(7, seed=1)
    whole = METHODS[method](batch_size=7)(net, x, 0)
    pieces = METHODS[method](batch_size=2)(net, x, 0)
    alone = METHODS[method](batch_size=1)(net, x[3:4], 0)
    np.testing.assert_allclose(whole.scores, pieces.scores, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(whole.scores[3:4], alone.scores, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(whole.peaks, pieces.peaks)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_model_left_unchanged(arch, method):
    _, net = arch
    if not METHODS[method]().applies_to(net):
        pytest.skip("method does not apply")
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    METHODS[method]()(net, random_onehot(3), 0)
    assert net.training  # mode restored
    net.eval()
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("method", sorted(METHODS))
def test_rejects_bad_input_and_output_index(arch, method):
    _, net = arch
    if not METHODS[method]().applies_to(net):
        pytest.skip("method does not apply")
    with pytest.raises(ValueError, match="out of range"):
        METHODS[method]()(net, random_onehot(2), 2)
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        METHODS[method]()(net, np.zeros((2, 5, L), dtype=np.uint8), 0)


def test_attention_scores_are_a_distribution_over_bases(arch):
    _, net = arch
    if net.attention is None:
        pytest.skip("no attention")
    res = AttentionAttribution()(net, random_onehot(4), 0)
    assert (res.scores >= 0).all()
    np.testing.assert_allclose(res.scores.sum(axis=1), 1.0, atol=1e-5)
    assert res.raw.shape[1] == res.position_map.feature_length
    np.testing.assert_array_equal(res.peaks, res.position_map.peak_base(res.raw.argmax(axis=1)))


@pytest.mark.parametrize("padded", [False, True])
def test_a_both_strands_attention_map_reads_a_sequence_and_its_reverse_complement_alike(padded):
    """model.strands=both without a stride: the map is the mean of both passes' maps, so the map of the reverse
    complement is the given map reversed (padding at the end moves to the start and keeps weight 0)."""
    net = build(ARCHS["attention_both_strands"])
    x = random_onehot(3)
    if padded:
        x[:, :, 50:] = 0
    rc = x[:, ::-1, ::-1].copy()
    given, reverse = AttentionAttribution()(net, x, 0), AttentionAttribution()(net, rc, 0)
    np.testing.assert_allclose(reverse.scores, given.scores[:, ::-1], atol=1e-6)
    forward_only = build(ARCHS["attention_both_strands"][:-1])
    one_strand = AttentionAttribution()
    differs = one_strand(forward_only, rc, 0).scores - one_strand(forward_only, x, 0).scores[:, ::-1]
    assert np.abs(differs).max() > 1e-4  # one strand's map is not symmetric: the check above can fail
    if padded:
        assert (given.scores[:, 50:] == 0).all() and (reverse.scores[:, :10] == 0).all()


def test_gradxinput_matches_a_linear_model():
    """For a linear model f(x) = sum w * x, gradient x input is exactly w at the observed base."""
    class Linear(torch.nn.Module):
        n_outputs = 1

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(4, L))

        def forward(self, x):
            return (x * self.w).sum(dim=(1, 2))[:, None]

    net = Linear()
    x = random_onehot(3)
    res = METHODS["gradxinput"]()(net, x, 0)
    expected = (x * net.w.detach().numpy()[None]).sum(axis=1)
    np.testing.assert_allclose(res.scores, expected, rtol=1e-5)
    ism = METHODS["ism"]()(net, x, 0)
    w = net.w.detach().numpy()
    ref = (x * w[None]).sum(axis=1)
    alt = ((1 - x) * w[None]).sum(axis=1) / 3
    np.testing.assert_allclose(ism.scores, ref - alt, rtol=1e-4, atol=1e-5)


# --- position map ---------------------------------------------------------------------------------

def test_position_map_is_exact_and_covers_perturbation_effects(arch):
    """Changing one base changes only feature positions whose receptive field contains it, and those
    positions are centred on the base."""
    name, net = arch
    x = torch.from_numpy(random_onehot(1, seed=3)).float()
    with torch.no_grad():
        base = net.features(x)
    pmap = position_map(net, L, base.shape[2])
    assert pmap.exact
    if name == "attention_lstm":  # an RNN carries every base forward: only the centre mapping is claimed
        return
    for b in (10, 29, 47):
        y = x.clone()
        y[0, :, b] = torch.roll(y[0, :, b], 1)
        with torch.no_grad():
            changed = np.flatnonzero((net.features(y) - base).abs().amax(dim=1)[0].numpy() > 1e-6)
        assert len(changed), b
        for i in changed:
            lo, hi = pmap.receptive_field(int(i))
            assert lo <= b < hi, (name, b, i, (lo, hi))
        owner = [i for i in range(pmap.feature_length) if pmap.owned_bases(i)[0] <= b < pmap.owned_bases(i)[1]]
        assert not owner or owner[0] in changed, (name, b, owner, changed)  # edges of 'valid' convs own nothing
        if changed.min() > 0 and changed.max() < pmap.feature_length - 1:  # effect not cut by an edge
            mid = (pmap.centres()[changed.min()] + pmap.centres()[changed.max()]) / 2
            assert abs(mid - b) <= pmap.jump, (name, b, changed)


def test_position_map_to_bases_conserves_mass_and_owns_stride_blocks():
    net = build(ARCHS["attentionnet"])
    with torch.no_grad():
        length_ = net.features(torch.zeros(1, 4, L)).shape[2]
    pmap = position_map(net, L, length_)
    assert (pmap.jump, pmap.start) == (2.0, 0.5)  # maxpool/2 after 'same' convs: position i owns [2i, 2i+2)
    assert [pmap.owned_bases(i) for i in (0, 1, 7)] == [(0, 2), (2, 4), (14, 16)]
    w = np.random.default_rng(0).random((3, length_))
    np.testing.assert_allclose(pmap.to_bases(w).sum(axis=1), w.sum(axis=1))


def test_ism_position_blocks_give_the_same_scores():
    """ISM builds variants a block of positions at a time (memory cap); the block size must not matter."""
    net = build(ARCHS["attentionnet"])
    x = random_onehot(3, seed=5)
    whole = METHODS["ism"]()(net, x, 0).scores
    blocked = METHODS["ism"](max_bytes=3 * 16 * L * 4 * 7)(net, x, 0).scores  # 7 positions per block
    np.testing.assert_allclose(whole, blocked, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_no_score_and_no_peak_on_padding(arch, method):
    """Sequences shorter than the dataset's length are padded with zero columns: no method scores them."""
    _, net = arch
    if not METHODS[method]().applies_to(net):
        pytest.skip("method does not apply")
    x = random_onehot(3, seed=2)
    x[0, :, 40:] = 0
    x[1, :, 48:] = 0
    res = METHODS[method]()(net, x, 0)
    assert not res.scores[0, 40:].any() and not res.scores[1, 48:].any()
    assert res.peaks[0] < 40 and res.peaks[1] < 48


@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_left_padded_sequence_gets_its_map_moved_not_changed(arch, method):
    """Padded on the left (``centre`` mode, a leading N run), a sequence is read at the network's stride
    phase (``masking.align_phase``): its map and its peak are those it gets padded on the right, moved
    by the pad. Before, a pad off the stride met the windows at another phase and changed the map."""
    _, net = arch
    if not METHODS[method]().applies_to(net):
        pytest.skip("method does not apply")
    seq = random_onehot(1, length=50, seed=3)[0]
    pads = (1, 3, 7)
    x = np.zeros((1 + len(pads), 4, L), dtype=np.uint8)
    x[0, :, :50] = seq                     # padded on the right only
    for row, pad in enumerate(pads, start=1):
        x[row, :, pad:pad + 50] = seq
    res = METHODS[method]()(net, x, 0)
    for row, pad in enumerate(pads, start=1):
        np.testing.assert_allclose(res.scores[row, pad:pad + 50], res.scores[0, :50], rtol=1e-4, atol=1e-6)
        assert not res.scores[row, :pad].any() and not res.scores[row, pad + 50:].any()
        assert res.peaks[row] == res.peaks[0] + pad


# (scores of a 10-bp span padded to 14, window 5, expected peak): the peak the sequence gets unpadded,
# where a window reaching into the padding (whose zeros beat negative scores) does not exist
WHOLE_WINDOW_TABLE = [
    ([-1.0] * 10, 2),                                      # all level: the first whole window, not one at the edge
    ([-1.0] * 6 + [-0.1] * 4, 7),                          # the best whole window ends at the span's end
    ([0.0, 0.0, 0.0, 0.0, 0.0] + [-1.0] * 5, 2),
]


@pytest.mark.parametrize("span_scores, expected", WHOLE_WINDOW_TABLE)
def test_a_window_peak_counts_whole_windows_of_the_span_only(span_scores, expected):
    scores = np.zeros((2, 14))
    scores[0, :10] = span_scores
    scores[1, :] = -1.0
    span = np.ones((2, 14), dtype=bool)
    span[0, 10:] = False
    peaks = METHODS["ism"](peak_window=5).peaks_of(scores, None, None, span)
    unpadded = METHODS["ism"](peak_window=5).peaks_of(np.array([span_scores]), None, None, None)
    assert peaks[0] == unpadded[0] == expected


@pytest.mark.parametrize("window", [1, 5])
def test_a_peak_stays_in_the_span_when_every_score_there_is_negative(window):
    """ISM and grad x input can be negative all along a sequence; the zeros of its padding must not win."""
    scores = np.full((2, 20), -1.0)
    scores[:, 12:] = 0.0                   # padding of row 0 scores 0
    scores[0, 7] = -0.5                    # the least negative base of row 0's span
    span = np.ones((2, 20), dtype=bool)
    span[0, 12:] = False
    peaks = METHODS["ism"](peak_window=window).peaks_of(scores, None, None, span)
    assert peaks[0] < 12 and (window > 1 or peaks[0] == 7)
    assert peaks[1] >= 12 - window // 2   # a row without padding: its zeros are real scores
