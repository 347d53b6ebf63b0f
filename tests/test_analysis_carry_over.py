"""Carry-over between stages: a suggested next stage names the sweep it came from (and that sweep's own
warm starts) in hydra.sweeper.warm_start, says in its header how many trials lie in its space, and an
unchanged suggestion run again trains none of the candidates already measured."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from genarch.analysis.carry_over import display_path, set_warm_start, warm_start_entries
from genarch.analysis.pipeline import Options, analyze_sweep
from genarch.ledger import iter_records

TOY = Path(__file__).parent / "sweeper_toy.py"
FAST = Options(seeds=2, n_estimators=20, plots=False, html=False, index=False)


def toy(cwd: Path, sweep: str, *overrides: str, conf: "Path | None" = None) -> None:
    flags = ["--config-dir", str(conf)] if conf else []
    proc = subprocess.run([sys.executable, str(TOY), *flags, f"hydra.sweep.dir={sweep}", *overrides, "-m"], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"}, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def measured(sweep: Path) -> set:
    return {tuple(sorted(r["params"].items())) for r in iter_records(sweep) if r.get("event") == "start"}


def suggest(tmp_path: Path, sweep: str, name: str) -> str:
    """Analyse ``sweep`` from ``tmp_path`` (the researcher's directory); its next stage as config stage/<name>."""
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        analysis = analyze_sweep(sweep, options=FAST)
        text = (analysis.out_dir / "next_stage.yaml").read_text()
    finally:
        os.chdir(cwd)
    (tmp_path / "conf" / "stage").mkdir(parents=True, exist_ok=True)
    (tmp_path / "conf" / "stage" / f"{name}.yaml").write_text(text)
    return text


def test_an_unchanged_suggestion_run_again_trains_only_new_candidates(tmp_path):
    toy(tmp_path, "first", "hydra.sweeper.budget=8")
    text = suggest(tmp_path, "first", "second")
    assert "# Carried over: 8 of the 8 finished trials of first lie in this space" in text
    sweeper = yaml.safe_load(text)["hydra"]["sweeper"]
    assert sweeper["warm_start"] == ["first"]  # relative: the sweep lies under the current directory
    assert sweeper["params"] == {"x": "interval(0, 1)", "y": "range(1, 6)", "c": "choice(a, b, c)"}  # unchanged
    toy(tmp_path, "second", "+stage=second", conf=tmp_path / "conf")
    first, second = measured(tmp_path / "first"), measured(tmp_path / "second")
    assert len(second) == 8 and not first & second  # every candidate trained is a new one
    results = yaml.safe_load((tmp_path / "second" / "optimization_results.yaml").read_text())
    assert list(results["warm_start"].values()) == [{"finished": 8, "inside": 8}]  # without: the same 8 again
    # the next suggestion names both sweeps and replaces the earlier carry-over header instead of stacking it
    text = suggest(tmp_path, "second", "third")
    assert yaml.safe_load(text)["hydra"]["sweeper"]["warm_start"] == ["second", "first"]
    assert text.count("# Carried over:") == 1
    assert "8 of the 8 finished trials of second and 8 of the 8 finished trials of first (16 in all)" in text


def test_the_warm_start_line_replaces_an_existing_entry_and_keeps_every_other_line():
    stage = ("# @package _global_\nhydra:\n  sweeper:\n    budget: 10\n    warm_start:\n      - old/a\n"
             "      - old/b\n    params:\n      x: interval(0, 1)\nseed: 1\n")
    out = set_warm_start(stage, ["new", "/abs/with space"])
    assert yaml.safe_load(out)["hydra"]["sweeper"] == {"budget": 10, "warm_start": ["new", "/abs/with space"],
                                                       "params": {"x": "interval(0, 1)"}}
    assert yaml.safe_load(out)["seed"] == 1 and "old/a" not in out
    added = set_warm_start("hydra:\n  sweeper:\n    params:\n      x: choice(1, 2)\n", ["s1"])
    assert yaml.safe_load(added)["hydra"]["sweeper"]["warm_start"] == ["s1"]


def test_a_sweep_outside_the_current_directory_is_named_by_its_absolute_path(tmp_path):
    assert display_path(tmp_path / "a" / "b", tmp_path) == "a/b"
    assert display_path(tmp_path / "x", tmp_path / "elsewhere") == str((tmp_path / "x").resolve())
    (tmp_path / "repo").mkdir(), (tmp_path / "kept_runs").mkdir()
    (tmp_path / "repo" / "runs").symlink_to(tmp_path / "kept_runs")  # runs linked to another disk
    assert display_path(tmp_path / "repo" / "runs" / "stage_1", tmp_path / "repo") == "runs/stage_1"


def test_an_earlier_sweep_stored_through_a_linked_runs_folder_stays_relative(tmp_path, monkeypatch):
    """The sweeper stores warm starts resolved (kept_runs/s1); the suggestion writes them as the researcher
    reaches them, through the linked runs folder the analysed sweep was given by."""
    (tmp_path / "repo").mkdir(), (tmp_path / "kept_runs" / "s2").mkdir(parents=True)
    (tmp_path / "repo" / "runs").symlink_to(tmp_path / "kept_runs")
    state = {"warm_start": [str((tmp_path / "kept_runs" / "s1").resolve()), "/elsewhere/s0"]}
    (tmp_path / "kept_runs" / "s2" / "sweep_state.json").write_text(json.dumps(state))
    monkeypatch.chdir(tmp_path / "repo")
    assert warm_start_entries(Path("runs/s2")) == ["runs/s2", "runs/s1", "/elsewhere/s0"]


def test_an_earlier_sweep_stored_under_a_project_moved_since_is_found_beside_the_sweep(tmp_path, monkeypatch):
    """A warm start stored as /old/project/runs/x/s1 (the project was cloned elsewhere since) is named by
    its longest tail that is a sweep under the analysed sweep's folders; one found nowhere stays as stored."""
    for sweep in ("runs/x/s1", "runs/x/s2", "runs/x/s9"):
        (tmp_path / sweep).mkdir(parents=True)
        (tmp_path / sweep / "ledger.jsonl").write_text("")
    # s1 was copied along; z/s9 was not, and the sweep x/s9 beside s2 is another one of the same name
    state = {"warm_start": ["/old/project/runs/x/s1", "/old/project/runs/z/s9"]}
    (tmp_path / "runs" / "x" / "s2" / "sweep_state.json").write_text(json.dumps(state))
    monkeypatch.chdir(tmp_path)
    assert warm_start_entries(Path("runs/x/s2")) == ["runs/x/s2", "runs/x/s1", "/old/project/runs/z/s9"]


def test_a_stage_key_with_a_plus_prefix_keeps_it_in_the_suggestion_that_runs(tmp_path):
    """tfbs_mf_4 sweeps ``++model.pooling.hidden`` (max pooling has no such key): its analysis wrote no next stage
    ('params not found as lines of the stage file'), since the trials record the key without the prefix. Its
    points (hydra.sweeper.points) leave the suggestion: they were trained, and the warm start tells them."""
    (tmp_path / "conf" / "stage").mkdir(parents=True)
    (tmp_path / "conf" / "stage" / "first.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    budget: 8\n    # the published model first\n"
        "    points:\n      - {x: 0.5, y: 3, c: a,\n         zz: 2}\n    params:\n      x: interval(0, 1)\n"
        "      y: range(1, 6)\n      c: choice(a, b, c)\n      ++zz: choice(1, 2)   # a key the config lacks\n")
    toy(tmp_path, "first", "+stage=first", conf=tmp_path / "conf")
    assert next(r for r in iter_records(tmp_path / "first") if r.get("job") == 0)["params"] == \
        {"x": 0.5, "y": 3, "c": "a", "zz": 2}
    text = suggest(tmp_path, "first", "second")
    assert "      ++zz: choice(1, 2)" in text and "# Carried over: 8 of the 8 finished trials" in text
    assert "points" not in yaml.safe_load(text)["hydra"]["sweeper"] and "published model" not in text
    assert "    # points: trained in first; its warm start tells those inside this space" in text
    toy(tmp_path, "second", "+stage=second", conf=tmp_path / "conf")
    results = yaml.safe_load((tmp_path / "second" / "optimization_results.yaml").read_text())
    assert list(results["warm_start"].values()) == [{"finished": 8, "inside": 8}]
    assert all(o.startswith("++zz=") for r in iter_records(tmp_path / "second") if r.get("event") == "start"
               for o in r["overrides"] if "zz" in o)


def test_without_points_removes_the_entry_and_its_own_comment_only():
    from genarch.analysis.carry_over import without_points

    text = ("# @package _global_\n# Section: the sweep\nhydra:\n  sweeper:\n    budget: 8\n# a column-0 note\n"
            "    # the published model first\n    points:\n    - {x: 0.5}\n    - {x: 0.7,\n       y: 2}\n\n"
            "    params:\n      x: interval(0, 1)\n---\n")
    out = without_points(text, "runs/s1")
    assert out == ("# @package _global_\n# Section: the sweep\nhydra:\n  sweeper:\n    budget: 8\n# a column-0 note\n"
                   "    # points: trained in runs/s1; its warm start tells those inside this space (docs/stages.md)\n\n"
                   "    params:\n      x: interval(0, 1)\n---\n")
    assert without_points(out, "runs/s1") == out


def _rules_class():
    """Rules whose task reads a missing ``s`` as ``f`` (genarch's ``model.strands``: forward)."""
    from genarch.sweeper.task import TaskRules

    class Rules(TaskRules):
        def absent_values(self):
            return {"s": "f"}

    return Rules


ABSENT_RULES = _rules_class()


def test_the_carry_over_count_reads_a_key_the_earlier_config_lacked_as_the_value_its_absence_means(tmp_path):
    """A space that adds a key (tfbs_mf_5's model.strands) holds the earlier trials only where the value the key's
    absence means (the sweep's task rules) lies in it: the header counts what the warm start will tell."""
    from omegaconf import OmegaConf

    from genarch.analysis.carry_over import carried_count

    toy(tmp_path, "first", "hydra.sweeper.budget=8")
    space = {"x": "interval(0, 1)", "y": "range(1, 6)", "c": "choice(a, b, c)"}
    assert carried_count(tmp_path / "first", {**space, "s": "choice(b)"}) == (8, 8)  # the toy task says nothing
    multirun = tmp_path / "first" / "multirun.yaml"
    config = OmegaConf.load(multirun)
    config.hydra.sweeper.task_rules = f"{__name__}.ABSENT_RULES"
    OmegaConf.save(config, multirun)
    assert carried_count(tmp_path / "first", {**space, "s": "choice(f, b)"}) == (8, 8)
    assert carried_count(tmp_path / "first", {**space, "s": "choice(b)"}) == (0, 8)
