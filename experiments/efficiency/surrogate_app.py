"""``python -m genarch`` with the surrogate in place of training (search-efficiency experiment only).

    python -m experiments.efficiency.surrogate_app hydra.searchpath=[file://experiments/efficiency/conf] \\
        +stage=eff_tfbs hydra.sweeper.budget=60 -m

Same config tree, same sweeper, launcher, ledger and post-sweep analysis as a real sweep; each
trial composes its config, refuses an illegal architecture exactly as training would (genarch's
model validation), then scores the resolved hyperparameters with the surrogate fit on real trials
(experiments/efficiency/surrogate.py) instead of training, and writes ``result.json`` with
``extra.surrogate: true``. A trial takes milliseconds, so many seeds of every search method fit.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig, OmegaConf

from experiments.efficiency.surrogate import Surrogate

if TYPE_CHECKING:
    from genarch.result import RunResult
    from genarch.task import TaskRun

_SURROGATE: Surrogate | None = None  # loaded once per process (the basic launcher runs every trial in it)


def score(cfg: DictConfig) -> float:
    from genarch.task import task_wrapper

    return task_wrapper(_score_task)(cfg)


def _score_task(cfg: DictConfig, run: "TaskRun") -> "RunResult":
    """One trial: refuse an illegal model as training would, else the surrogate's score; genarch's task
    protocol (genarch.task.task_wrapper) writes result.json and the ledger record, failed or not."""
    global _SURROGATE
    from genarch.model import validate_model
    from genarch.result import Objective, RunResult
    from genarch.training.runner import hparams_of

    hparams = hparams_of(cfg)
    run.facts.update(objective=("val_auroc", "maximize"), hparams=hparams, extra={"surrogate": True})
    validate_model(OmegaConf.to_container(cfg.model, resolve=True))
    _SURROGATE = _SURROGATE or Surrogate()
    value = _SURROGATE.score(hparams)
    return RunResult(status="ok", objective=Objective("val_auroc", "maximize", value), hparams=hparams,
                     overrides=run.overrides, metrics={"val": {"auroc": value}}, wall_time_s=run.elapsed,
                     seed=cfg.get("seed"), task="binary", extra={"surrogate": True})


@hydra.main(version_base="1.3", config_path="pkg://genarch.conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return score(cfg)


if __name__ == "__main__":
    from genarch.__main__ import quote_stage_args

    sys.argv = [sys.argv[0], *quote_stage_args(sys.argv[1:])]
    main()
