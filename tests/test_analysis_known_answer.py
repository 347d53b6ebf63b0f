"""Known answers: the score is a known function of two hyperparameters (one categorical, one
numeric) plus noise and six irrelevant hyperparameters. The tree, both importance methods and the
next stage must single out exactly those two; a ledger with two equally good branches must fork."""

import math

import pytest
import yaml

from genarch.analysis.pipeline import Options, analyze, load_sweep
from genarch.space import parse_params
from genarch.analysis.synthetic import BASE_PARAMS, FORK_PARAMS, write_sweep

RELEVANT = {"model/rnn", "optimizer.lr_scale"}
FAST = Options(seeds=3, n_estimators=40, plots=False, html=False)


@pytest.fixture(scope="module", params=[("maximize", 0), ("minimize", 1), ("maximize", 2)],
                ids=["maximize-seed0", "minimize-seed1", "maximize-seed2"])
def single(request, tmp_path_factory):
    direction, seed = request.param
    sweep = write_sweep(tmp_path_factory.mktemp("single"), kind="single", n=80, seed=seed, direction=direction)
    table, stage = load_sweep(sweep)
    return analyze(table, stage, sweep / "analysis", FAST)


@pytest.fixture(scope="module", params=[0, 1], ids=["seed0", "seed1"])
def fork(request, tmp_path_factory):
    sweep = write_sweep(tmp_path_factory.mktemp("fork"), kind="fork", n=80, seed=request.param)
    table, stage = load_sweep(sweep)
    return analyze(table, stage, sweep / "analysis", FAST)


def test_direction_is_read_from_the_ledger(single):
    assert single.table.direction in ("maximize", "minimize")
    top_values = single.table.values[single.tree.mask]
    rest = single.table.values[~single.tree.mask]
    if single.table.direction == "maximize":
        assert top_values.min() >= rest.max()
    else:  # a loss: the best are the lowest
        assert top_values.max() <= rest.min()


def test_tree_splits_only_on_the_two_relevant_hyperparameters(single):
    assert set(single.tree.params_used) == RELEVANT
    best = max(single.tree.leaves, key=lambda leaf: leaf.n_top)
    assert best.equal.get("model/rnn") == "lstm"
    assert best.coverage >= 0.75 and best.high
    lo, hi = best.bounds["optimizer.lr_scale"]
    assert (lo or 0.03) < 0.5 < (hi or 10)


@pytest.mark.parametrize("method", ["permutation", "main_effect"])
def test_each_importance_method_ranks_the_two_relevant_first(single, method):
    imp = next(i for i in single.importances if i.method == method)
    assert set(imp.ranking()[:2]) == RELEVANT
    for param in set(imp.params) - RELEVANT:
        assert imp.mean[param] < 0.05, (param, imp.mean[param])
    assert single.important == RELEVANT


def test_next_stage_fixes_the_categorical_and_narrows_the_numeric_only(single):
    (proposal,) = single.proposals
    assert proposal.name == "next_stage"
    changed = {c.key: c for c in proposal.changes}
    assert set(changed) == RELEVANT
    assert changed["model/rnn"].new == "choice(lstm)"
    lr = parse_params({"lr": proposal.params["optimizer.lr_scale"]})["lr"]
    old = parse_params({"lr": BASE_PARAMS["optimizer.lr_scale"]})["lr"]
    assert lr.kind == "interval" and lr.log
    assert lr.low < 0.5 < lr.high
    assert math.log(lr.high / lr.low) < 0.8 * math.log(old.high / old.low)
    for key, value in BASE_PARAMS.items():
        if key not in RELEVANT:
            assert proposal.params[key] == value
    for change in proposal.changes:  # every change carries its evidence as a comment above it
        assert f"# {change.evidence}" in proposal.text
        assert "top trials" in change.evidence


def test_next_stage_is_a_valid_stage_file_with_the_same_keys(single):
    (proposal,) = single.proposals
    data = yaml.safe_load(proposal.text)
    assert proposal.text.startswith("# @package _global_\n")
    assert set(data["hydra"]["sweeper"]["params"]) == set(BASE_PARAMS)
    assert data["hydra"]["sweeper"]["budget"] == 80
    assert data["defaults"] == [{"override /hydra/sweeper": "genarch"}]
    assert "-      model/rnn: choice(none, lstm, gru)" in proposal.diff
    assert "+      model/rnn: choice(lstm)" in proposal.diff


def test_two_equally_good_branches_fork(fork):
    assert fork.fork is not None
    assert fork.fork.param in {"model/rnn", "model/reduction"}
    cells = {(p.params["model/rnn"], p.params["model/reduction"]) for p in fork.proposals}
    assert cells == {("choice(lstm)", "choice(maxpool)"), ("choice(none)", "choice(attention)")}
    names = {p.name for p in fork.proposals}
    assert len(names) == 2 and all(n.startswith("next_stage_") for n in names)
    for proposal in fork.proposals:
        assert set(yaml.safe_load(proposal.text)["hydra"]["sweeper"]["params"]) == set(FORK_PARAMS)
        assert "Fork branch:" in proposal.text


def test_fork_writes_one_yaml_per_branch(fork):
    out = fork.out_dir
    files = sorted(p.name for p in out.glob("next_stage*.yaml"))
    assert files == sorted(f"{p.name}.yaml" for p in fork.proposals)
    assert not (out / "next_stage.yaml").exists()
    diff = (out / "next_stage.diff").read_text()
    for proposal in fork.proposals:
        assert f"+++ b/{proposal.name}.yaml" in diff


def test_single_optimum_does_not_fork(single):
    assert single.fork is None
