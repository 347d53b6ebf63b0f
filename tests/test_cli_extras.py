"""Around the command line: no Lightning banner lines in a run; the `genarch` command's tab completion;
stages in a user's own config directory (--config-dir, hydra.searchpath); the interpretation's wording."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = ["trainer=smoke", "dataset.n=400", "trainer.batch_size=50", "model.stem.filters=8"]
BANNER = ("GPU available", "TPU available", "litlogger", "Tip:", "HPU available")
GENARCH = shutil.which("genarch", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
needs_command = pytest.mark.skipif(GENARCH is None, reason="the `genarch` console script is not installed")


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "GENARCH_CACHE": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "0",
            "PATH": f"{Path(GENARCH or sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_a_run_prints_no_lightning_banner(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "genarch", *TINY, "trainer.progress=true", "logger=tensorboard",
                           f"hydra.run.dir={tmp_path / 'run'}"], cwd=REPO, capture_output=True, text=True,
                          env=_env(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = proc.stdout + proc.stderr
    assert not [b for b in BANNER if b in printed], printed[-3000:]
    assert "objective val_auroc" in proc.stdout  # the run's own summary still prints
    log = (tmp_path / "run" / "__main__.log").read_text()
    assert not [b for b in BANNER if b in log]


def test_quiet_libraries_lowers_lightning_after_its_import():
    import logging

    from genarch.app import quiet_libraries

    quiet_libraries()
    import pytorch_lightning  # noqa: F401 - already imported by quiet_libraries: the level stays

    for name in ("pytorch_lightning", "lightning_fabric", "pytorch_lightning.utilities.rank_zero"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name


@needs_command
def test_genarch_command_tab_completes_config_groups(tmp_path):
    """Hydra's bash completion, installed for the `genarch` command as the README says, completes options
    of genarch's config groups (logger=t -> logger=tensorboard; +stage= -> the built-in stages)."""
    script = tmp_path / "complete.sh"
    script.write_text('eval "$(genarch --shell-completion install=bash)"\n'
                      'for line in "genarch logger=t" "genarch +stage="; do\n'
                      '  COMP_LINE="$line"; COMP_POINT=${#COMP_LINE}; COMP_CWORD=1\n'
                      '  hydra_bash_completion; echo "${COMPREPLY[*]}"\n'
                      'done\n')
    proc = subprocess.run(["bash", str(script)], cwd=REPO, capture_output=True, text=True, env=_env(tmp_path),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    logger_line, stage_line = proc.stdout.strip().splitlines()
    assert logger_line.split() == ["logger=tensorboard"]
    assert {"+stage=1", "+stage=3", "+stage=4a"} <= set(stage_line.split())


MY_STAGE = """# @package _global_
# A user's own stage, outside the installed package: two trials of a tiny model.
defaults:
  - override /trainer: smoke
  - override /hydra/sweeper: genarch
dataset:
  n: 400
trainer:
  batch_size: 50
summary: false
hydra:
  sweeper:
    budget: 2
    num_workers: 1
    params:
      model.stem.filters: choice(4, 8)
"""


@pytest.fixture()
def my_conf(tmp_path) -> Path:
    conf = tmp_path / "my_conf"
    (conf / "stage").mkdir(parents=True)
    (conf / "stage" / "mine.yaml").write_text(MY_STAGE)
    return conf


@pytest.mark.parametrize("how", ["--config-dir", "hydra.searchpath"])
def test_a_stage_in_the_users_config_dir_composes(tmp_path, my_conf, how):
    where = ["--config-dir", str(my_conf)] if how == "--config-dir" else [f"hydra.searchpath=[file://{my_conf}]"]
    proc = subprocess.run([sys.executable, "-m", "genarch", "+stage=mine", *where, "--cfg", "job"], cwd=REPO,
                          capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import yaml

    cfg = yaml.safe_load(proc.stdout)
    assert cfg["dataset"]["n"] == 400 and cfg["trainer"]["max_epochs"] == 2 and cfg["summary"] is False


@needs_command
@pytest.mark.slow
def test_a_stage_in_the_users_config_dir_runs_with_the_genarch_command(tmp_path, my_conf):
    sweep = tmp_path / "sweep"
    # Hydra's argparse takes the overrides as one run of words: options such as --config-dir go before or after them
    proc = subprocess.run([GENARCH, "--config-dir", str(my_conf), "+stage=mine", f"hydra.sweep.dir={sweep}", "-m"],
                          cwd=tmp_path, capture_output=True, text=True, env=_env(tmp_path), timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = [json.loads((sweep / str(n) / "result.json").read_text()) for n in (0, 1)]
    assert all(r["status"] == "ok" and r["hparams"]["trainer.max_epochs"] == 2 for r in results)
    assert {r["hparams"]["model.stem.filters"] for r in results} <= {4, 8}


# -- the interpretation's verdict on a motif ---------------------------------------------------------

CTCF = [("MA0139.2", "CTCF", 1.0)]


@pytest.mark.parametrize("check, verdict", [
    ({"best_match": "MA0139.1", "best_name": "CTCF", "q_value": 1e-4, "matches_planted": True, "recovered": True},
     "planted motif recovered"),
    # another JASPAR matrix of the planted TF: recovered, not "NOT recovered"
    ({"best_match": "MA1929.1", "best_name": "CTCF", "q_value": 1e-4, "matches_planted": False, "recovered": False},
     "planted TF recovered: best match is the planted TF CTCF (another JASPAR matrix than the planted MA0139.2)"),
    ({"best_match": "MA0139.1", "best_name": "CTCF", "q_value": 0.2, "matches_planted": True, "recovered": False},
     "best match is the planted matrix, but not significant (q=0.2 >= 0.05)"),
    ({"best_match": "MA0079.5", "best_name": "SP1", "q_value": 1e-3, "matches_planted": False, "recovered": False},
     "planted motif not recovered (best match SP1; planted MA0139.2 CTCF)"),
])
def test_recovery_verdict_reads_the_tf_of_the_best_match(check, verdict):
    from genarch.interpret.summary import recovery_verdict

    assert recovery_verdict(check, CTCF) == verdict


def test_recovery_lines_never_say_not_recovered_for_the_planted_tf():
    from types import SimpleNamespace

    from genarch.interpret.summary import recovery_lines

    check = {"best_match": "MA1930.2", "best_name": "CTCF", "q_value": 0.003, "matches_planted": False,
             "recovered": False}
    output = SimpleNamespace(output="bound", planted=CTCF, recovery={
        "tolerance_bp": 3, "n_peak_on_site": 40, "n_with_site": 50, "rate": 0.8,
        "top_n": {"n_with_site": 20, "rate": 0.9}, "motifs": {"pfm": check}})
    text = "\n".join(recovery_lines(SimpleNamespace(outputs=[output])))
    assert "NOT recovered" not in text and "not recovered" not in text and "planted TF recovered" in text
