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
import time

import hydra
from omegaconf import DictConfig, OmegaConf

from experiments.efficiency.surrogate import Surrogate

_SURROGATE: Surrogate | None = None  # loaded once per process (the basic launcher runs every trial in it)


def score(cfg: DictConfig) -> float:
    global _SURROGATE
    from genarch.app import hydra_context
    from genarch.model import validate_model
    from genarch.result import Objective, RunResult
    from genarch.sweeper.ledger_hook import record_trial_end
    from genarch.training.runner import hparams_of

    _, out_dir, overrides = hydra_context()
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    hparams = hparams_of(cfg)
    try:
        validate_model(OmegaConf.to_container(cfg.model, resolve=True))
        _SURROGATE = _SURROGATE or Surrogate()
        value = _SURROGATE.score(hparams)
    except Exception as exc:  # noqa: BLE001 - recorded like a failed real trial, then re-raised
        failed = RunResult(status="failed", objective=Objective("val_auroc", "maximize"), hparams=hparams,
                           overrides=overrides, wall_time_s=time.perf_counter() - start, seed=cfg.get("seed"),
                           error=f"{type(exc).__name__}: {exc}", extra={"surrogate": True})
        failed.write(out_dir)
        record_trial_end(failed.to_dict(), out_dir)
        raise
    result = RunResult(status="ok", objective=Objective("val_auroc", "maximize", value), hparams=hparams,
                       overrides=overrides, metrics={"val": {"auroc": value}}, wall_time_s=time.perf_counter() - start,
                       seed=cfg.get("seed"), task="binary", extra={"surrogate": True})
    result.write(out_dir)
    record_trial_end(result.to_dict(), out_dir)
    return value


@hydra.main(version_base="1.3", config_path="pkg://genarch.conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return score(cfg)


if __name__ == "__main__":
    from genarch.__main__ import quote_stage_args

    sys.argv = [sys.argv[0], *quote_stage_args(sys.argv[1:])]
    main()
