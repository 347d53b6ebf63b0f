"""Every named architecture and a seeded sample of random legal combinations of the search space
build and give the right output shape for 101-bp and 2,000-bp inputs, one output and 11 outputs;
illegal combinations and unknown options fail with messages that name the keys."""

import random
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from genarch.model import ConfigError, GenomicNet, validate_model

CONF = str(Path(__file__).resolve().parents[1] / "genarch" / "conf")
NAMED = ["attentionnet", "promoternet", "attentionnet_small", "promoternet_small", "deepbind", "deepmotif", "search"]


def compose_model(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    return OmegaConf.to_container(cfg.model, resolve=True)


def output_shape(model: dict, length: int, outputs: int) -> tuple:
    net = GenomicNet(model, length, outputs).eval()
    with torch.no_grad():
        return tuple(net(torch.rand(3, 4, length)).shape)


@pytest.mark.parametrize("name", NAMED)
@pytest.mark.parametrize("length,outputs", [(101, 1), (101, 11), (2000, 1), (2000, 11)])
def test_named_architecture_builds(name, length, outputs):
    assert output_shape(compose_model(f"model={name}"), length, outputs) == (3, outputs)


# The paper's Table-2 space, as config overrides (group choices and values inside the groups).
SPACE = {
    "model/reduction": ["none", "maxpool", "meanpool", "strided_conv"],
    "model/rnn": ["none", "simple", "lstm", "gru"],
    "model/pooling": ["flatten", "attention", "max", "mean"],
    "model/residual": ["none", "basic"],
    "optimizer": ["adam", "sgd"],
    "model.activation": ["relu", "leaky_relu", "very_leaky_relu", "elu"],
    "model.stem.first_activation": ["null", "exp"],
    "model.stem.filter_size": [3, 5, 7, 9],
    "model.stem.filters": [8, 16, 32, 64],
    "model.stem.convs_before": [1, 2, 3, 4, 5],
    "model.stem.convs_after": [0, 1, 2, 3, 4, 5],
    "model.stem.batchnorm": ["true", "false"],
    "model.reduction.stride": [2, 4, 8],
    "model.rnn.units": [16, 32, 64],
    "model.rnn.layers": [1, 2],
    "model.rnn.bidirectional": ["true", "false"],
    "model.rnn.grad_clip": [0, 1, 5, 15],
    "model.head.layers": [0, 1, 2, 3],
    "model.head.units": [64, 128, 256, 512, 1024],
    "model.head.batchnorm": ["true", "false"],
    "model.head.dropout": [0.0, 0.2, 0.4, 0.6],
    "trainer.batch_size": [25, 50, 125, 250],
}
GROUPS = [k for k in SPACE if "/" in k or k == "optimizer"]


def random_overrides(rng: random.Random) -> list[str]:
    picks = {key: rng.choice(values) for key, values in SPACE.items()}
    # group choices first: values inside a group apply to the option chosen for it
    ordered = [f"{k}={picks[k]}" for k in GROUPS] + [f"{k}={picks[k]}" for k in SPACE if k not in GROUPS]
    if picks["model/rnn"] == "none":
        ordered = [o for o in ordered if not o.startswith("model.rnn.layers")]
    return ["model=search", *ordered]


def sample_combinations(n_legal: int, length: int, seed: int = 7):
    rng = random.Random(seed)
    legal, illegal = [], 0
    while len(legal) < n_legal:
        overrides = random_overrides(rng)
        model = compose_model(*overrides)
        try:
            validate_model(model, length)
        except ConfigError:
            illegal += 1
            continue
        legal.append((overrides, model))
    return legal, illegal


@pytest.mark.parametrize("length", [101, 2000])
def test_random_legal_combinations_build(length):
    legal, _ = sample_combinations(50, length, seed=length)
    # 2,000-bp inputs through an unreduced RNN are slow on CPU: one sequence shows the shape, and
    # one thread keeps the test from spin-waiting when other work shares the cores
    batch = 1 if length > 500 else 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for index, (overrides, model) in enumerate(legal):
            outputs = 1 if index % 2 else 11
            net = GenomicNet(model, length, outputs).eval()
            with torch.no_grad():
                shape = tuple(net(torch.rand(batch, 4, length)).shape)
            assert shape == (batch, outputs), overrides
    finally:
        torch.set_num_threads(threads)


def test_sample_covers_every_option():
    legal, _ = sample_combinations(50, 101, seed=101)
    seen = {key: set() for key in GROUPS}
    for overrides, _ in legal:
        for override in overrides:
            key, _, value = override.partition("=")
            if key in seen:
                seen[key].add(value)
    for key in GROUPS:
        assert seen[key] == {str(v) for v in SPACE[key]}, key


@pytest.mark.parametrize(
    "overrides,length,keys",
    [
        (["model/rnn=lstm", "model.rnn.output=last", "model/pooling=attention"], None,
         ["model.pooling.kind", "model.rnn.output"]),
        (["model/rnn=gru", "model.rnn.output=last", "model/pooling=max"], None,
         ["model.pooling.kind", "model.rnn.output"]),
        (["model.stem.filter_size=4"], None, ["model.stem.filter_size"]),
        (["model.head.dropout=1.5"], None, ["model.head.dropout"]),
        (["model.activation=swish"], None, ["model.activation"]),
        (["model/rnn=lstm", "model.rnn.layers=0"], None, ["model.rnn.layers"]),
        (["model/reduction=maxpool", "model.reduction.stride=64"], 50, ["model.reduction.stride"]),
        (["model/reduction=none", "model/pooling=flatten", "model.stem.filters=64"], 2000,
         ["model.pooling.max_flatten_features"]),
        (["model=deepmotif"], 10, ["model.stem.layers"]),
        (["model/pooling=attention", "model.pooling.kernel_size=2"], None, ["model.pooling.kernel_size"]),
        (["model/pooling=attention", "model.pooling.hidden=0"], None, ["model.pooling.hidden"]),
        # the explicit stem (DeepBind, DeepMotif): convs after its layers and residual blocks use stem.filter_size
        (["model=deepbind", "model.stem.filter_size=4", "model.stem.convs_after=1"], None, ["model.stem.filter_size"]),
        (["model=deepmotif", "model.stem.filter_size=4", "model/residual=basic"], None, ["model.stem.filter_size"]),
        (["model=deepbind", "model.stem.layers.0.dropout=1.5"], None, ["model.stem.layers[0].dropout"]),
        (["model=deepbind", "model.stem.layers.0.pool=x"], None, ["model.stem.layers[0].pool"]),
        (["model=deepbind", "model.stem.layers.0.pool=-2"], 101, ["model.stem.layers[0].pool"]),
        (["+model.strands=reverse"], None, ["model.strands"]),
    ],
)
def test_illegal_combinations_name_their_keys(overrides, length, keys):
    model = compose_model(*overrides)
    with pytest.raises(ConfigError) as info:
        validate_model(model, length)
    for key in keys:
        assert key in str(info.value)


@pytest.mark.parametrize("override", ["model/rnn=transformer", "model=alexnet", "optimizer=rmsprop"])
def test_unknown_group_option_is_refused_by_hydra(override):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException) as info:
        compose_model(override)
    assert override.split("=")[1] in str(info.value)


def test_attention_weights_are_exposed_and_normalised():
    model = compose_model("model=attentionnet")
    net = GenomicNet(model, 101, 1).eval()
    with torch.no_grad():
        net(torch.rand(4, 4, 101))
    weights = net.attention.last_weights
    assert weights.shape[0] == 4
    assert torch.allclose(weights.sum(dim=1), torch.ones(4), atol=1e-5)
    assert GenomicNet(compose_model("model=deepbind"), 101, 1).attention is None


def reverse_complement(x: torch.Tensor) -> torch.Tensor:
    from genarch.data.encode import reverse_complement as numpy_reverse_complement

    return torch.from_numpy(numpy_reverse_complement(x.numpy()).copy())


@pytest.mark.parametrize("name", ["attentionnet", "deepbind", "promoternet_small"])
def test_both_strands_average_the_two_readings_and_read_a_site_alike_on_either_strand(name):
    """model.strands=both: the output is the mean of the one-strand outputs for x and its reverse complement (so
    x and its reverse complement score the same); without the key a network reads x only, as before the option,
    with the same weights (a checkpoint of either loads into the other)."""
    torch.manual_seed(0)
    one = GenomicNet(compose_model(f"model={name}"), 101, 2).eval()
    both = GenomicNet(compose_model(f"model={name}", "+model.strands=both"), 101, 2).eval()
    both.load_state_dict(one.state_dict())
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 101)), 4).float().transpose(1, 2)
    with torch.no_grad():
        plain, rc = one(x), one(reverse_complement(x))
        assert not torch.allclose(plain, rc, atol=1e-4)
        assert torch.allclose(both(x), (plain + rc) / 2, atol=1e-5)
        assert torch.allclose(both(x), both(reverse_complement(x)), atol=1e-5)
    forward = GenomicNet(compose_model(f"model={name}", "+model.strands=forward"), 101, 2).eval()
    forward.load_state_dict(one.state_dict())
    with torch.no_grad():
        assert torch.equal(forward(x), plain)
    if name == "attentionnet":  # interpretation reads the given strand's attention
        with torch.no_grad():
            one(x)
            given = one.attention.last_weights
            both(x)
        assert torch.allclose(both.attention.last_weights, given)


def test_both_strands_train_as_one_batch_on_padded_sequences_through_a_reduction_and_an_rnn():
    """A training step of a both-strands network: batch norm moves its running statistics once (one batch of both
    strands, the pooled statistics it evaluates with), and a padded batch with a strided reduction and a GRU
    still scores a sequence and its reverse complement alike (the padding moves to the other end)."""
    torch.manual_seed(1)
    model = compose_model("model/reduction=maxpool", "model.reduction.stride=4", "model/rnn=gru",
                          "model/pooling=attention", "model.head.dropout=0", "+model.strands=both")
    net = GenomicNet(model, 60, 1)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (6, 60)), 4).float().transpose(1, 2).contiguous()
    x[:3, :, 47:] = 0  # three sequences padded at the end (their reverse complements at the start)
    bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d))
    torch.optim.SGD(net.parameters(), lr=0.1).zero_grad()
    net.train()
    net(x).sum().backward()
    assert int(bn.num_batches_tracked) == 1
    with torch.no_grad():
        assert torch.allclose(net(x), net(reverse_complement(x)), atol=1e-5)  # batch statistics: the same set
        net.eval()
        assert torch.allclose(net(x), net(reverse_complement(x)), atol=1e-5)
