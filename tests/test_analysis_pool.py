"""Pooling earlier stages: only trials inside the current stage's space count, and null stays a value."""

import pytest

from genarch.analysis.pipeline import load_sweep
from genarch.space import parse_domain
from genarch.analysis.trials import AnalysisInputError, from_ledger
from genarch.analysis.cli import main
from genarch.ledger import append_record


@pytest.mark.parametrize(
    "text, value, inside",
    [
        ("choice(none, lstm)", "lstm", True),
        ("choice(none, lstm)", "gru", False),
        ("choice(true, false)", True, True),
        ("choice(true)", False, False),
        ("choice(true)", "true", False),  # a string is not the bool the sweep recorded
        ("null,exp", None, True),
        ("choice(exp)", None, False),
        ("choice(8, 16, 32)", 16, True),
        ("choice(8, 16, 32)", 16.0, True),
        ("choice(8, 16, 32)", 64, False),
        ("range(0, 3)", 2, True),
        ("range(0, 3)", 3, False),
        ("tag(log, interval(0.03, 10))", 0.03, True),
        ("tag(log, interval(0.03, 10))", 10.5, False),
        ("interval(0.0, 0.6)", 0.3, True),
        ("interval(0.0, 0.6)", "0.3", False),
        ("int(interval(64, 1024))", 64, True),
        ("int(interval(64, 1024))", 828.5, False),
        ("tag(log, interval(0.03, 10))", float("nan"), False),
        ("interval(0.0, 0.6)", True, False),
    ],
)
def test_domain_contains(text, value, inside):
    assert parse_domain("k", text).contains(value) is inside


STAGE2 = """\
# @package _global_
hydra:
  sweeper:
    params:
      model/rnn: choice(lstm)
      optimizer.lr_scale: tag(log, interval(0.1, 1))
      model.stem.first_activation: null,exp
stage: s2
"""


def write(sweep, rows, start=0):
    for job, (params, value) in enumerate(rows, start):
        append_record(sweep, {"job": job, "event": "end", "status": "ok", "params": params,
                              "objective": {"name": "val_auroc", "direction": "maximize", "value": value}})
    return sweep


def trial(rnn, lr, act, value):
    return {"model/rnn": rnn, "optimizer.lr_scale": lr, "model.stem.first_activation": act}, value


@pytest.fixture
def stages(tmp_path):
    stage1 = write(tmp_path / "stage1", [
        trial("lstm", 0.5, None, 0.8),      # inside stage 2's space: pooled
        trial("lstm", 0.2, "exp", 0.7),     # inside: pooled
        trial("none", 0.5, None, 0.9),      # rnn fixed away: left out
        trial("lstm", 5.0, None, 0.6),      # lr outside the narrowed interval: left out
        trial("gru", 0.3, "exp", 0.5),      # left out
    ])
    stage2 = write(tmp_path / "stage2", [trial("lstm", 0.1 + 0.1 * i, [None, "exp"][i % 2], 0.5 + 0.03 * i)
                                         for i in range(6)])
    (tmp_path / "s2.yaml").write_text(STAGE2)
    return tmp_path, stage1, stage2


def test_pool_keeps_only_trials_inside_the_stage(stages):
    root, stage1, stage2 = stages
    table, stage = load_sweep(stage2, root / "s2.yaml", pool=(stage1,))
    assert table.n == 8
    assert sorted(j for j in table.frame["job"] if isinstance(j, str)) == ["stage1/0", "stage1/1"]
    assert any("pooled 2 of the 5 finished trials" in n and "3 lie outside" in n for n in table.notes)
    # null is the choice "null", never shown as a missing value
    assert set(table.frame["model.stem.first_activation"]) == {"null", "exp"}
    assert table.original("model.stem.first_activation", "null") is None


def test_without_pool_only_the_sweep_itself(stages):
    root, _, stage2 = stages
    table, _ = load_sweep(stage2, root / "s2.yaml")
    assert table.n == 6 and not any("pooled" in n for n in table.notes)


def test_pool_needs_the_stage(stages):
    _, stage1, stage2 = stages
    with pytest.raises(AnalysisInputError, match="pass --stage"):
        from_ledger(stage2, pool=(stage1,))


def test_pool_of_a_directory_without_ledger(stages, tmp_path):
    root, _, stage2 = stages
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnalysisInputError, match="empty: no ledger.jsonl to pool"):
        load_sweep(stage2, root / "s2.yaml", pool=(tmp_path / "empty",))


@pytest.mark.parametrize("name, direction, refused", [
    ("val_loss", "minimize", r"objective 'val_loss' there, 'val_auroc' here; direction 'minimize' there"),
    ("val_auroc", "minimize", r"direction 'minimize' there, 'maximize' here"),
    ("val_pearson", "maximize", r"objective 'val_pearson' there, 'val_auroc' here\)"),
    ("val_auroc", "maximize", None),
])
def test_a_sweep_with_another_objective_is_not_pooled(stages, name, direction, refused):
    """Before, a sweep of losses was pooled into one of AUROCs and its trials ranked as AUROCs."""
    root, _, stage2 = stages
    other = root / "other"
    for job, (params, value) in enumerate([trial("lstm", 0.5, None, 0.3), trial("lstm", 0.2, "exp", 0.1)]):
        append_record(other, {"job": job, "event": "end", "status": "ok", "params": params,
                              "objective": {"name": name, "direction": direction, "value": value}})
    if refused is None:
        assert load_sweep(stage2, root / "s2.yaml", pool=(other,))[0].n == 8
        return
    with pytest.raises(AnalysisInputError, match=rf"other: cannot pool a sweep with another objective \({refused}"):
        load_sweep(stage2, root / "s2.yaml", pool=(other,))


def test_command_line_pool(stages, capsys):
    root, stage1, stage2 = stages
    code = main([str(stage2), "--stage", str(root / "s2.yaml"), "--pool", str(stage1), "--quiet", "--no-plots",
                 "--no-html", "--seeds", "1", "--trees", "20"])
    assert code == 0
    assert "pooled 2 of the 5" in (stage2 / "analysis" / "summary.txt").read_text().replace("\n", " ")


def test_callback_pools_and_stays_picklable(stages):
    import pickle

    from genarch.analysis.callback import AnalysisCallback

    root, stage1, stage2 = stages
    callback = pickle.loads(pickle.dumps(AnalysisCallback(seeds=1, n_estimators=20, html=False, print_summary=False,
                                                          stage=str(root / "s2.yaml"), pool=[str(stage1)])))
    analysis = callback.run(stage2)
    assert analysis is not None and analysis.table.n == 8


def test_a_constant_of_the_stage_counts_as_the_value_of_every_trial(tmp_path):
    """Stage 3 fixed first_activation to the constant null (not recorded per trial): pooled stage-2 trials
    with null count, those with exp do not, and the parameter is constant, not 'missing'."""
    stage2 = write(tmp_path / "stage2", [trial("lstm", 0.1 + 0.1 * i, [None, "exp"][i % 2], 0.5 + 0.03 * i)
                                         for i in range(6)])
    stage3 = write(tmp_path / "stage3", [({"model/rnn": "lstm", "optimizer.lr_scale": 0.15 + 0.1 * i}, 0.6 + 0.01 * i)
                                         for i in range(5)])
    (tmp_path / "s3.yaml").write_text(STAGE2.replace("null,exp", "null"))
    table, _ = load_sweep(stage3, tmp_path / "s3.yaml", pool=(stage2,))
    assert table.n == 8
    assert table.constant == {"model/rnn": "lstm", "model.stem.first_activation": None}


def test_a_pooled_sweep_of_failed_trials_is_not_refused_for_their_auto_objective(stages):
    """A failed record names the config's objective, "auto"; only finished trials say what was measured."""
    root, _, stage2 = stages
    failed = root / "failed"
    for job in range(3):
        append_record(failed, {"job": job, "event": "end", "status": "failed", "params": trial("lstm", 0.5, None, 0)[0],
                               "objective": {"name": "auto", "direction": None, "value": None}, "error": "NaN loss"})
    table, _ = load_sweep(stage2, root / "s2.yaml", pool=(failed,))
    assert (table.n, table.n_total, table.metric) == (6, 9, "val_auroc")
