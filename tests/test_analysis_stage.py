"""Stage files: Hydra's grammar round-trips, rewriting keeps every other line, suggestions compose."""

from pathlib import Path

import pytest
import yaml

from genarch.analysis.next_stage import rewrite_stage, validate_stage_text
from genarch.analysis.pipeline import Options, analyze, load_sweep, resolve_stage
from genarch.space import format_choice, parse_domain, stage_value as format_value
from genarch.analysis.synthetic import write_sweep
from genarch.analysis.trials import from_csv


@pytest.mark.parametrize(
    "text, kind, values, low, high, log",
    [
        ("choice(none, lstm)", "choice", ["none", "lstm"], None, None, False),
        ("choice(8, 16, 32, 64)", "choice", [8, 16, 32, 64], None, None, False),
        ("25,50,125,250", "choice", [25, 50, 125, 250], None, None, False),
        ("choice(true, false)", "choice", [True, False], None, None, False),
        ("tag(log, interval(0.03, 10))", "interval", [], 0.03, 10.0, True),
        ("interval(0.0, 0.6)", "interval", [], 0.0, 0.6, False),
        ("range(0, 4)", "range", [0, 1, 2, 3], 0, 4, False),
        ("choice(32)", "choice", [32], None, None, False),
    ],
)
def test_domains_parse_and_round_trip(text, kind, values, low, high, log):
    domain = parse_domain("k", text)
    assert (domain.kind, domain.values, domain.log) == (kind, values, log)
    if low is not None:
        assert (domain.low, domain.high) == (low, high)
    again = parse_domain("k", domain.format())
    assert (again.kind, again.values, again.low, again.high, again.log) == \
        (domain.kind, domain.values, domain.low, domain.high, domain.log)


@pytest.mark.parametrize("value", ["lstm", "none", "1", "true", "null", "a b", True, False, 3, 0.25, 1e-5, None])
def test_values_keep_their_type_in_a_choice(value):
    assert parse_domain("k", format_choice([value])).values == [value]
    assert format_value(value)


@pytest.mark.parametrize("values, text", [([None, "exp"], "null,exp"), (["exp", None], "exp,null"), ([None], "null"),
                                          (["exp", "relu"], "choice(exp, relu)")])
def test_null_in_a_choice_is_written_in_a_form_hydra_accepts(values, text):
    assert format_choice(values) == text
    assert parse_domain("k", text).values == values


STAGE = """\
# @package _global_
# Stage 3: LSTM only
defaults:
  - override /hydra/sweeper: genarch
hydra:
  sweeper:
    budget: 40  # trials
    params:
      # architecture
      model/rnn: choice(none, lstm)
      optimizer.lr_scale: tag(log, interval(0.03, 10))
trainer:
  max_epochs: 5
"""


def test_rewrite_changes_only_the_named_lines():
    new = {"model/rnn": "choice(lstm)", "optimizer.lr_scale": "tag(log, interval(0.03, 10))"}
    text = rewrite_stage(STAGE, new, {"model/rnn": ["evidence here"]}, ["header"])
    lines = text.splitlines()
    assert lines[0] == "# @package _global_"
    assert lines[1].startswith("# Stage 4: suggested from stage 3")
    assert "      # evidence here" in lines and "      model/rnn: choice(lstm)" in lines
    for kept in ["    budget: 40  # trials", "      # architecture", "  max_epochs: 5",
                 "      optimizer.lr_scale: tag(log, interval(0.03, 10))"]:
        assert kept in lines
    validate_stage_text(text, new)
    assert yaml.safe_load(text)["trainer"] == {"max_epochs": 5}


def test_rewrite_refuses_a_file_without_params():
    with pytest.raises(ValueError, match="hydra.sweeper.params"):
        rewrite_stage("# @package _global_\nx: 1\n", {"a": "choice(1)"}, {}, [])


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    sweep = write_sweep(tmp_path_factory.mktemp("stage"), kind="single", n=60, seed=3)
    table, stage = load_sweep(sweep)
    return analyze(table, stage, sweep / "analysis", Options(seeds=2, n_estimators=20, plots=False, html=False))


def test_suggested_stage_composes_in_hydra_like_the_original(analysed, tmp_path):
    from hydra import compose, initialize_config_dir

    conf = tmp_path / "conf"
    (conf / "stage").mkdir(parents=True)
    (conf / "hydra" / "sweeper").mkdir(parents=True)
    (conf / "config.yaml").write_text("defaults:\n  - _self_\nseed: 0\n")
    (conf / "hydra" / "sweeper" / "genarch.yaml").write_text("budget: 10\nparams: null\n")
    (conf / "stage" / "run.yaml").write_text(analysed.stage.text)
    (conf / "stage" / "next.yaml").write_text((analysed.out_dir / "next_stage.yaml").read_text())
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        before = compose(config_name="config", overrides=["+stage=run"], return_hydra_config=True)
        after = compose(config_name="config", overrides=["+stage=next"], return_hydra_config=True)
    assert set(after.hydra.sweeper.params) == set(before.hydra.sweeper.params)
    assert after.hydra.sweeper.params["model/rnn"] == "choice(lstm)"
    assert after.hydra.sweeper.budget == before.hydra.sweeper.budget
    # carry-over: the sweep analysed (outside the current directory: its absolute path) is warm-started from
    assert list(after.hydra.sweeper.warm_start) == [str(Path(analysed.table.source).resolve())]
    assert "of the 60 finished trials of" in (analysed.out_dir / "next_stage.yaml").read_text()


def test_stage_is_found_from_multirun_yaml_or_recorded_params(analysed, tmp_path):
    sweep = Path(analysed.table.source)
    stage, _ = resolve_stage(sweep)
    assert stage.path == sweep / "stage.yaml"
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump(
        {"hydra": {"sweeper": {"budget": 9, "params": {"a": "choice(x, y)", "b": "interval(0, 1)"}}}}))
    recorded, notes = resolve_stage(tmp_path)
    assert recorded.text is None and set(recorded.domains) == {"a", "b"} and notes


def test_csv_export_is_analysed_like_a_sweep(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    lines = ["number,params_lr,params_opt,params_units,value,state"]
    for i in range(40):
        lr, opt, units = 10 ** rng.uniform(-4, 0), ["adam", "sgd"][i % 2], [16, 32, 64][i % 3]
        value = (1.0 if opt == "adam" else 0.0) - (np.log10(lr) + 2) ** 2 * 0.2 + rng.normal(0, 0.01)
        lines.append(f"{i},{lr},{opt},{units},{value},{'COMPLETE' if i < 38 else 'FAIL'}")
    path = tmp_path / "optuna.csv"
    path.write_text("\n".join(lines) + "\n")
    table = from_csv(path, metric="value", direction="maximize")
    assert set(table.params) == {"lr", "opt", "units"} and table.n_failed == 2
    analysis = analyze(table, None, tmp_path / "out", Options(seeds=2, n_estimators=20, plots=False, html=False))
    assert set(analysis.tree.params_used) <= {"lr", "opt"}
    text = (tmp_path / "out" / "next_stage.yaml").read_text()
    params = yaml.safe_load(text)["hydra"]["sweeper"]["params"]
    assert params["opt"] == "choice(adam)"
    assert "--- a/stage (inferred)" in (tmp_path / "out" / "next_stage.diff").read_text()


def _stage_text(rnn: str, title: str, key: str) -> str:
    return (f"# @package _global_\n# {title}\nhydra:\n  sweeper:\n    params:\n      model/rnn: {rnn}\n"
            f"      optimizer.lr_scale: tag(log, interval(0.1, 1))\nstage: \"{key}\"\n")


def test_the_stage_composed_wins_over_a_stale_stage_key_and_an_edit_after_the_sweep(tmp_path):
    """Before: a fork copied from 3.yaml to 3a.yaml (still saying stage: "3") was analysed against 3.yaml,
    and its suggestion put back the values the fork had removed."""
    conf, sweep = tmp_path / "conf", tmp_path / "sweep"
    (conf / "stage").mkdir(parents=True)
    sweep.mkdir()
    (conf / "stage" / "3.yaml").write_text(_stage_text("choice(none, lstm, gru)", "stage 3", "3"))
    fork = _stage_text("choice(none)", "fork a of stage 3", "3")
    (conf / "stage" / "3a.yaml").write_text(fork)
    (sweep / "stage.yaml").write_text(fork)  # the sweeper's copy of the file it ran
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"stage": "3", "hydra": {"runtime": {
        "choices": {"stage": "3a"}, "config_sources": [{"path": str(conf), "schema": "file", "provider": "main"}]}}}))
    stage, notes = resolve_stage(sweep)
    assert stage.path == conf / "stage" / "3a.yaml" and stage.params["model/rnn"] == "choice(none)" and not notes
    # edited after the sweep ran: the copy the sweep saved is what its trials sampled
    (conf / "stage" / "3a.yaml").write_text(_stage_text("choice(gru)", "fork a, edited", "3a"))
    stage, notes = resolve_stage(sweep)
    assert stage.path == conf / "stage" / "3a.yaml" and stage.name == "3a"
    assert stage.params["model/rnn"] == "choice(none)" and stage.text == fork
    assert any("3a.yaml was edited after this sweep ran" in n for n in notes)


def test_a_suggestion_of_a_suggestion_keeps_one_title_and_one_header():
    """Before: '# Stage 5: suggested from stage 4 (suggested from stage 3 (LSTM only))', with the header lines
    of the first suggestion left under those of the second."""
    new = {"model/rnn": "choice(lstm)", "optimizer.lr_scale": "tag(log, interval(0.1, 10))"}
    first = rewrite_stage(STAGE, new, {}, ["Suggested by genarch.analyze from 3.yaml.", "Changes: fix model/rnn."])
    second = rewrite_stage(first, new, {},
                           ["Suggested by genarch.analyze from 4.yaml.", "Changes: narrow optimizer.lr_scale."])
    head = second.splitlines()[:5]
    assert head == ["# @package _global_", "# Stage 5: suggested from stage 4 (LSTM only)",
                    "# Suggested by genarch.analyze from 4.yaml.", "# Changes: narrow optimizer.lr_scale.", "defaults:"]
    third = rewrite_stage(second, new, {}, ["Suggested by genarch.analyze from 5.yaml.", "Changes: none."])
    assert third.splitlines()[1] == "# Stage 6: suggested from stage 5 (LSTM only)"
    assert sum(line.startswith("# Suggested by") for line in third.splitlines()) == 1


def test_a_stage_from_a_package_source_is_read_from_the_sweeps_copy_under_its_own_name(tmp_path):
    """Before: a stage from pkg://mystages.conf that kept `stage: "2"` was labelled as the built-in 2.yaml,
    'edited after this sweep ran'."""
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    text = _stage_text("choice(none)", "my package stage", "2")
    (sweep / "stage.yaml").write_text(text)
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"stage": "2", "hydra": {"runtime": {
        "choices": {"stage": "pk"}, "config_sources": [{"path": "mystages.conf", "schema": "pkg", "provider": "x"}]}}}))
    stage, notes = resolve_stage(sweep)
    assert (stage.path, stage.name, stage.text) == (sweep / "stage.yaml", "pk", text)
    assert notes == [f"stage 'pk' is not a file on the search path here: the analysis reads the copy the sweep "
                     f"saved ({sweep / 'stage.yaml'})"]
