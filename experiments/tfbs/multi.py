"""A search objective over several DeepBind ENCODE experiments: train one candidate on each, report the mean.

``python experiments/tfbs/multi.py [genarch overrides] -m`` is ``python -m genarch`` (same config tree,
same sweeper, same ledger and analysis) with one difference: every run trains the composed
architecture once per experiment listed in ``subset`` (a top-level list the TFBS stage files set)
and its objective is the **mean val AUROC over those experiments**. Each experiment's run lands in
``<run dir>/<experiment prefix>/result.json``; the run's own ``result.json`` holds the mean metrics
(``metrics.val.auroc`` = mean val AUROC, same for test) plus ``extra.per_experiment``.

Used by the TFBS staged search (experiments/tfbs/search.py, run as ``python -m experiments.tfbs.search``):

    python experiments/tfbs/multi.py hydra.searchpath=[file://experiments/tfbs/conf] +stage=tfbs_1 -m

Without ``subset`` it behaves exactly like ``python -m genarch``.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import TYPE_CHECKING, Any

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf, open_dict

if TYPE_CHECKING:
    from genarch.result import RunResult
    from genarch.task import TaskRun

log = logging.getLogger("genarch.experiments.multi")


def short_name(experiment: str) -> str:
    """``ARID3A_K562_ARID3A_(sc-8821)_Stanford`` -> ``ARID3A_K562`` (a directory-safe prefix)."""
    return "_".join(experiment.split("_")[:2])


def mean_metrics(per: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean of every metric that every experiment has, per split."""
    out: dict[str, dict[str, float]] = {}
    splits = set.intersection(*(set(m) for m in per.values())) if per else set()
    for split in sorted(splits):
        keys = set.intersection(*(set(m[split]) for m in per.values()))
        out[split] = {k: float(np.mean([m[split][k] for m in per.values()])) for k in sorted(keys)}
    return out


def run_subset(cfg: DictConfig, experiments: list[str]) -> float:
    return _train_subset(cfg, experiments=experiments)


def _train_subset_task(cfg: DictConfig, run: "TaskRun", experiments: list[str]) -> "RunResult":
    from genarch.app import quiet_libraries
    from genarch.result import Objective, RunResult
    from genarch.training import train
    from genarch.training.runner import hparams_of

    quiet_libraries()
    per_metrics: dict[str, dict[str, dict[str, float]]] = {}
    per_extra: dict[str, Any] = {}
    # what a failure keeps (genarch.task.task_wrapper writes it): the subset and what each experiment gave
    run.facts.update(objective=("val_auroc", "maximize"), extra={"subset": experiments, "per_experiment": per_extra})
    try:
        run.facts["hparams"] = hparams_of(cfg)
    except Exception:  # noqa: BLE001 - the config itself may be what fails; train() says so
        run.facts["hparams"] = {}
    objective = None
    n_params = epochs = None
    for experiment in experiments:
        sub = cfg.copy()
        with open_dict(sub):
            sub.dataset.experiment = experiment
        sub_dir = run.out_dir / short_name(experiment)
        sub_dir.mkdir(parents=True, exist_ok=True)
        result = train(sub, sub_dir, run.hydra_cfg, run.overrides)
        result.write(sub_dir)
        per_metrics[experiment] = result.metrics
        per_extra[experiment] = {"val_auroc": result.objective.value,
                                 "test_auroc": result.metrics.get("test", {}).get("auroc"),
                                 "epochs": result.epochs, "wall_time_s": result.wall_time_s}
        objective = result.objective
        n_params, epochs = result.n_params, result.epochs
        log.info("%s: %s = %.4f", short_name(experiment), result.objective.name, result.objective.value)
    metrics = mean_metrics(per_metrics)
    value = float(np.mean([e["val_auroc"] for e in per_extra.values()]))
    hparams = dict(run.facts["hparams"])
    hparams["dataset.experiment"] = "+".join(short_name(e) for e in experiments)
    log.info("mean %s over %d experiments = %.4f", objective.name, len(experiments), value)
    return RunResult(status="ok", objective=Objective(objective.name, objective.direction, value),
                     hparams=hparams, overrides=run.overrides, metrics=metrics, n_params=n_params,
                     epochs=int(epochs or 0), wall_time_s=run.elapsed, seed=cfg.get("seed"), task="binary",
                     extra={"subset": experiments, "per_experiment": per_extra,
                            "objective": "mean val AUROC over the subset"})


def _train_subset(cfg: DictConfig, experiments: list[str]) -> float:
    from genarch.task import task_wrapper

    return task_wrapper(functools.partial(_train_subset_task, experiments=experiments))(cfg)


@hydra.main(version_base="1.3", config_path="pkg://genarch.conf", config_name="config")
def main(cfg: DictConfig) -> float:
    subset = cfg.get("subset")
    if not subset:
        from genarch.app import run

        return run(cfg)
    return run_subset(cfg, [str(e) for e in OmegaConf.to_container(subset)])


if __name__ == "__main__":
    from genarch.__main__ import quote_stage_args

    sys.argv = [sys.argv[0], *quote_stage_args(sys.argv[1:])]
    main()
