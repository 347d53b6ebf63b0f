"""What a sweep reports: one log line per job, and ``optimization_results.yaml`` (the best trial, the counts,
why it stopped)."""

import logging
from typing import Any, Optional

from omegaconf import OmegaConf

from genarch.io import atomic_write_text
from genarch.space import plain
from genarch.sweeper.run import Candidate, SweepRun

log = logging.getLogger(__name__)
RESULTS_FILE = "optimization_results.yaml"


def log_batch(run: SweepRun, batch: list[Candidate]) -> None:
    for c in batch:
        o = c.outcome
        # the whole error on one line: a rejection's reasons follow its first line ("illegal model config:")
        error = " ".join(line.strip() for line in (o.error or "").splitlines() if line.strip())
        what = f"{o.value:.4f}" if o.status == "ok" else f"{o.status}: {error[:300]}"
        source = "replayed" if c.source == "new" and c.job in run.finished else c.source
        log.info("job %s (%s) %s  %s", c.job if c.job is not None else o.job, source, what, c.params)


def write_results(run: SweepRun, settings: Any, optimizer: Any, stopped: Optional[str]) -> None:
    best = run.best()
    new = [c for c in run.history if c.source == "new"]
    try:
        recommendation = {k: plain(v) for k, v in optimizer.provide_recommendation().value.items()}
    except Exception:  # noqa: BLE001 - no tell yet
        recommendation = None
    results = {
        "name": "genarch",
        "stage": run.stage,
        "optimizer": settings.optimizer,
        "seed": run.seed,
        "objective": {"name": best.outcome.name if best else run.losses.config_objective()[0],
                      "direction": best.outcome.direction if best else run.losses.direction(None)},
        "best_evaluated_params": best.params if best else None,
        "best_evaluated_result": best.outcome.value if best else None,
        "best_job": best.job if best else None,
        "recommendation": recommendation,
        "n_trials": sum(c.outcome.status != "rejected" for c in new),
        "n_ok": sum(c.outcome.status == "ok" for c in new),
        "n_failed": sum(c.outcome.status == "failed" for c in new),
        "n_rejected": sum(c.outcome.status == "rejected" for c in new),
        "n_cached": sum(c.source != "new" for c in run.history),
        "warm_start": run.warm_notes or None,
        "stopped": stopped,
    }
    atomic_write_text(run.sweep_dir / RESULTS_FILE, OmegaConf.to_yaml(OmegaConf.create(results)))
    if best:
        log.info("best: job %s %s = %.4f  %s", best.job, results["objective"]["name"], best.outcome.value, best.params)
    if run.progress is not None:
        run.progress.close(stopped)
