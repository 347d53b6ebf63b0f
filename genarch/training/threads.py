"""How many torch threads a trial gets: the machine's cores split among the trials running at once.

joblib sets OMP_NUM_THREADS=1 in its workers and two trials each using every core doubled the wall
time on a 2-core machine, so a trial asks for ``max(1, cores // parallel_trials)`` threads."""

import os
from typing import Any, Optional


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parallel_trials(hydra_cfg: Optional[Any]) -> int:
    """Trials that run at once on this machine under the launcher in ``hydra_cfg`` (the ``hydra``
    node), 1 if unknown. The genarch sweeper hands ``num_workers`` trials to the launcher per batch,
    so that bounds every local launcher; a SLURM job runs alone in its allocation (its cores are
    what ``sched_getaffinity`` reports)."""
    if hydra_cfg is None:
        return 1
    launcher = hydra_cfg.get("launcher") or {}
    target = str(launcher.get("_target_", "")).lower()
    batch = (hydra_cfg.get("sweeper") or {}).get("num_workers")
    batch = max(1, int(batch)) if batch else None
    if "joblib" in target:
        n_jobs = int(launcher.get("n_jobs", -1) or -1)
        parallel = available_cores() if n_jobs < 0 else max(1, n_jobs)
        return min(parallel, batch) if batch else parallel
    if "submitit" in target and "local" in target:
        # the local executor starts every job of a batch at once
        return batch or max(1, int(launcher.get("array_parallelism", 1) or 1))
    if "ray" in target:
        return batch or 1
    return 1


def choose_threads(setting: Any, hydra_cfg: Optional[Any] = None) -> int:
    if setting not in (None, "auto"):
        return max(1, int(setting))
    return max(1, available_cores() // parallel_trials(hydra_cfg))


def apply_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # may be set only once per process, before any parallel work
        pass
