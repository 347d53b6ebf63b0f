"""How many torch threads a trial gets: the machine's cores split among the trials running at once.

joblib sets OMP_NUM_THREADS=1 in its workers and two trials each using every core doubled the wall
time on a 2-core machine, so a trial asks for ``max(1, cores // parallel_trials)`` threads.

GPU trials: under ``hydra/launcher=local_parallel`` the number of parallel trials is ``n_jobs``, which
the preset sets to GPUs * ``trainer.trials_per_gpu`` (genarch.training.devices), so each GPU trial gets
its share of the cores to feed its GPU; on a local Ray cluster trials that reserve ``ray.remote.num_gpus``
are also bounded by the GPUs; a SLURM GPU task gets the CPUs of its allocation."""

import os
from typing import Any, Optional


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parallel_trials(hydra_cfg: Optional[Any]) -> int:
    """Trials that run at once on this machine under the launcher in ``hydra_cfg`` (the ``hydra``
    node), 1 if unknown. The genarch sweeper hands ``num_workers`` trials to the launcher at once (another
    number, it sets ``num_workers`` in their launch to it: genarch.sweeper._impl.launch_overrides), so that
    bounds every local launcher; a SLURM job runs alone in its allocation (its cores are
    what ``sched_getaffinity`` reports); a local Ray cluster runs as many as its CPUs hold trials of
    ``ray.remote.num_cpus`` each."""
    if hydra_cfg is None:
        return 1
    launcher, target = _launcher(hydra_cfg)
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
        cores, per_trial = _ray_local_cores(launcher)
        fits = max(1, int(cores // per_trial))  # a fractional num_cpus packs several trials on a CPU
        gpus_per_trial = float(_ray_settings(launcher)[1].get("num_gpus") or 0)
        if gpus_per_trial > 0:  # GPU trials: no more at once than the GPUs hold
            fits = min(fits, max(1, int(_local_gpus() // gpus_per_trial)))
        return min(batch or fits, fits)
    return 1


def _local_gpus() -> int:
    from genarch.training.devices import gpu_count

    return gpu_count()


def _launcher(hydra_cfg: Optional[Any]) -> tuple[Any, str]:
    """The ``hydra.launcher`` node and its ``_target_`` in lower case (empty when there is none)."""
    launcher = (hydra_cfg.get("launcher") or {}) if hydra_cfg is not None else {}
    return launcher, str(launcher.get("_target_", "")).lower()


def _ray_settings(launcher: Any) -> tuple[Any, Any]:
    ray = launcher.get("ray") or {}
    return ray.get("init") or {}, ray.get("remote") or {}


def _ray_local_cores(launcher: Any) -> tuple[int, float]:
    """The cores a local Ray cluster schedules (``ray.init.num_cpus``, at most this machine's) and the CPUs
    it reserves per trial (``ray.remote.num_cpus``, Ray's default 1)."""
    init, remote = _ray_settings(launcher)
    cores = available_cores()
    if init.get("num_cpus"):
        cores = max(1, min(cores, int(init["num_cpus"])))
    return cores, float(remote.get("num_cpus") or 1)


def _ray_cluster_threads(hydra_cfg: Optional[Any]) -> Optional[int]:
    """On a remote Ray cluster (``ray.init.address`` set, or Ray's AWS launcher) a trial cannot know which
    other trials share its node; Ray reserved ``ray.remote.num_cpus`` CPUs for it, so it uses that many."""
    launcher, target = _launcher(hydra_cfg)
    if "ray" not in target:
        return None
    init, remote = _ray_settings(launcher)
    address = init.get("address")
    if "aws" in target or (address and str(address) != "local"):
        return max(1, int(remote.get("num_cpus") or 1))
    return None


def choose_threads(setting: Any, hydra_cfg: Optional[Any] = None) -> int:
    if setting not in (None, "auto"):
        return max(1, int(setting))
    cluster = _ray_cluster_threads(hydra_cfg)
    if cluster is not None:
        return cluster
    launcher, target = _launcher(hydra_cfg)
    cores = _ray_local_cores(launcher)[0] if "ray" in target else available_cores()
    return max(1, cores // parallel_trials(hydra_cfg))


def apply_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # may be set only once per process, before any parallel work
        pass
