"""--export-optuna: a genarch sweep as an Optuna study, loaded back with optuna and compared with the ledger."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from genarch.analysis.synthetic import write_sweep  # noqa: E402
from genarch.analyze import main  # noqa: E402
from genarch.ledger import load_trials  # noqa: E402

TOY = Path(__file__).parent / "sweeper_toy.py"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return write_sweep(tmp_path_factory.mktemp("exp") / "stage1", kind="single", n=30, seed=2, n_failed=3)


def _load(storage):
    (name,) = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


@pytest.mark.parametrize("form", ["sqlite", "journal", "log-suffix"])
def test_the_study_holds_every_trial_with_its_params_value_and_state(sweep, tmp_path, form):
    target = {"sqlite": f"sqlite:///{tmp_path}/s.db", "journal": f"journal:{tmp_path}/s.journal",
              "log-suffix": f"{tmp_path}/s.log"}[form]
    assert main([str(sweep), "--export-optuna", target]) == 0
    storage = target if form == "sqlite" else optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(target.removeprefix("journal:")))
    study = _load(storage)
    ledger = [t for t in load_trials(sweep) if t.status != "running"]
    assert len(study.trials) == len(ledger) == 33  # 30 ok + 3 failed
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert sum(t.state == TrialState.FAIL for t in study.trials) == sum(not t.ok for t in ledger) == 3
    for frozen, trial in zip(study.trials, ledger):
        assert frozen.user_attrs["job"] == trial.job and frozen.user_attrs["sweep_dir"] == str(sweep.resolve())
        if trial.ok:
            assert frozen.state == TrialState.COMPLETE and frozen.value == pytest.approx(trial.value)
        else:
            assert frozen.state == TrialState.FAIL and frozen.value is None
        assert set(frozen.params) == set(trial.params)
        for key, value in trial.params.items():
            got = frozen.params[key]
            assert got == pytest.approx(value) if isinstance(value, float) else got == value, (key, got, value)
    assert study.best_value == pytest.approx(max(t.value for t in ledger if t.ok))


def test_distributions_follow_the_stage(sweep, tmp_path):
    storage = f"sqlite:///{tmp_path}/d.db"
    assert main([str(sweep), "--export-optuna", storage, "--study-name", "s1"]) == 0
    dists = optuna.load_study(study_name="s1", storage=storage).trials[0].distributions
    assert dists["model/rnn"] == CategoricalDistribution(("none", "lstm", "gru"))
    assert dists["model.stem.filters"] == CategoricalDistribution((8, 16, 32, 64))
    assert dists["model.rnn.bidirectional"] == CategoricalDistribution((True, False))
    assert dists["optimizer.lr_scale"] == FloatDistribution(0.03, 10, log=True)
    assert dists["model.head.dropout"] == FloatDistribution(0.0, 0.6)
    assert dists["model.head.layers"] == IntDistribution(0, 3)  # range(0, 4): 0..3


def test_an_existing_study_is_not_overwritten(sweep, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path}/e.db"
    assert main([str(sweep), "--export-optuna", storage, "--study-name", "x"]) == 0
    assert main([str(sweep), "--export-optuna", storage, "--study-name", "x"]) == 2
    assert "a study named 'x' is already there" in capsys.readouterr().err
    assert len(optuna.load_study(study_name="x", storage=storage).trials) == 33


def test_bad_targets_get_one_line_errors(sweep, tmp_path, capsys):
    assert main([str(tmp_path), "--export-optuna", f"sqlite:///{tmp_path}/n.db"]) == 2
    assert "no ledger.jsonl here" in capsys.readouterr().err
    assert main([str(sweep), "--export-optuna", "stage1.db"]) == 2
    assert "give a database URL (sqlite:///path.db) or a journal file" in capsys.readouterr().err


@pytest.mark.slow
def test_a_real_sweep_with_failures_and_optuna_visualization(tmp_path):
    """The sweeper's own ledger (toy task, option c fails): integer range and failures; optuna's plots draw it."""
    sweep = tmp_path / "toy"
    proc = subprocess.run([sys.executable, str(TOY), f"hydra.sweep.dir={sweep}", "fail_if_c=c",
                           "hydra.sweeper.budget=6", "hydra.sweeper.max_failure_rate=1.0", "-m"],
                          capture_output=True, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"}, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    storage = f"sqlite:///{tmp_path}/toy.db"
    assert main([str(sweep), "--export-optuna", storage]) == 0
    study = _load(storage)
    ledger = load_trials(sweep)
    assert [t.user_attrs["job"] for t in study.trials] == [t.job for t in ledger]
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert all(t.params["c"] == "c" and "c=c is the failing option" in t.user_attrs["error"] for t in failed)
    dists = study.trials[0].distributions
    assert dists["y"] == IntDistribution(1, 5) and dists["x"] == FloatDistribution(0, 1)
    assert dists["c"] == CategoricalDistribution(("a", "b", "c"))
    assert all(math.isfinite(t.value) for t in study.trials if t.state == TrialState.COMPLETE)
    pytest.importorskip("plotly")
    figure = optuna.visualization.plot_optimization_history(study)
    assert len(figure.data[0].x) == sum(t.state == TrialState.COMPLETE for t in study.trials)


def test_optunas_fanova_reads_the_exported_study_and_finds_the_planted_answer(sweep, tmp_path):
    """Hutter et al.'s fANOVA (Optuna's evaluator) on the export: the synthetic score depends on model/rnn
    and optimizer.lr_scale only (genarch.analysis.synthetic.single_optimum)."""
    storage = f"sqlite:///{tmp_path}/f.db"
    assert main([str(sweep), "--export-optuna", storage]) == 0
    ranked = list(optuna.importance.get_param_importances(
        _load(storage), evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)))
    assert set(ranked[:2]) == {"model/rnn", "optimizer.lr_scale"}


def test_without_optuna_the_export_is_one_line_naming_the_extra(sweep, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if optuna were not installed: import optuna fails
    assert main([str(sweep), "--export-optuna", f"sqlite:///{tmp_path}/s.db"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "needs optuna" in err and "pip install 'genarch[explore]'" in err
    assert not (tmp_path / "s.db").exists()


def test_help_says_how_optuna_dashboard_opens_a_journal(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "optuna-dashboard STORAGE" not in help_text  # journal:x.log is genarch's syntax, not the dashboard's
    assert "(for a journal: its bare path, without journal:)" in help_text


def test_documented_commands_name_modules_that_exist():
    root = Path(__file__).resolve().parents[1]
    multi = (root / "experiments" / "tfbs" / "multi.py").read_text()
    assert "run_search.py" not in multi and (root / "experiments" / "tfbs" / "search.py").exists()
    assert "python experiments/check_report_browser.py" not in (root / "docs" / "analysis.md").read_text()
