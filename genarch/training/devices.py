"""Which device a run trains on, in which precision, and which GPU each parallel trial of a sweep gets.

``trainer.accelerator``: ``auto`` (a CUDA GPU when this process sees one, else the CPU), ``cpu``,
``gpu`` (= ``cuda``) or ``mps``. Asking for a device that is not there is a :class:`DeviceUnavailable`
(a :class:`ConfigError`: one ``genarch: ...`` line and exit 2 for a single run), never a silent CPU run.

One run trains one model on one device (``trainer.devices: 1``, or ``[k]`` for GPU ``k``); several
GPUs are used by a sweep, one trial per GPU. Under a local parallel launcher (joblib's
``hydra/launcher=local_parallel``, submitit's local executor) a trial leases a *slot*: an exclusive
``flock`` on ``<sweep_dir>/.gpu_slots/slot-<i>.lock``, held for that trial only: ``train()`` gives it
back when the trial ends, ok or failed (:meth:`TrainingDevice.release`), and a crashed worker's lock
goes with the process. There are ``GPUs * trainer.trials_per_gpu`` slots; slot ``i`` trains on GPU
``i % GPUs``, so trials spread over the GPUs before they share one. A trial that finds every slot
taken (more parallel trials than slots) waits until a running trial ends. SLURM and Ray give each task its own
GPU (``CUDA_VISIBLE_DEVICES``), so there the trial takes device 0 of what it sees.
"""

import contextlib
import gc
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import torch
from omegaconf import OmegaConf

from genarch.model import ConfigError

log = logging.getLogger(__name__)

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
# trainer.precision -> Lightning's precision flag
PRECISIONS = {"32": "32-true", "32-true": "32-true", "bf16-mixed": "bf16-mixed", "16-mixed": "16-mixed"}
MATMUL_PRECISIONS = ("highest", "high", "medium")
SLOT_DIR = ".gpu_slots"
NONDETERMINISTIC = re.compile(r"^(?P<op>\S+) does not have a deterministic implementation")


class DeviceUnavailable(ConfigError):
    """The config asks for an accelerator or a GPU index this process does not see."""


@dataclass
class TrainingDevice:
    """The resolved device settings of one run; :meth:`facts` is what result.json records."""

    accelerator: str                 # "cpu" | "gpu" | "mps"
    index: Optional[int]             # the GPU among those this process sees (None on CPU)
    name: str                        # "NVIDIA H100 80GB HBM3", the CPU's model name, "Apple MPS"
    precision: str                   # Lightning's flag: "32-true" | "bf16-mixed" | "16-mixed"
    matmul_precision: Optional[str]  # torch.set_float32_matmul_precision, applied on a GPU only
    compile: bool
    deterministic: bool
    slot: Optional[int] = None       # the sweep's GPU slot this trial leased, if any
    slot_dir: Optional[Path] = None  # the folder of that slot's lock

    def release(self) -> None:
        """Gives the trial's GPU slot back (``train()`` calls it when the trial ends, ok or failed), so the
        next trial, in this worker or another, gets it without waiting for this process to exit."""
        if self.slot_dir is not None:
            release_slot(self.slot_dir)
            self.slot_dir = None

    @property
    def torch_device(self) -> torch.device:
        if self.accelerator == "gpu":
            return torch.device("cuda", self.index)
        return torch.device(self.accelerator)

    @property
    def is_gpu(self) -> bool:
        return self.accelerator == "gpu"

    def trainer_kwargs(self) -> dict[str, Any]:
        """``pl.Trainer`` arguments. On a GPU, ``deterministic`` turns on torch's deterministic algorithms
        with ``warn_only`` (Lightning's ``"warn"``): an op without a deterministic CUDA kernel warns (and
        is recorded by :meth:`nondeterminism_recorded`) instead of stopping the run."""
        deterministic: Any = self.deterministic
        if self.deterministic and self.accelerator != "cpu":
            deterministic = "warn"
        devices: Any = [self.index] if self.is_gpu else 1
        return {"accelerator": self.accelerator, "devices": devices, "precision": self.precision,
                "deterministic": deterministic}

    def facts(self) -> dict[str, Any]:
        return {"accelerator": self.accelerator, "device": str(self.torch_device), "device_name": self.name,
                "precision": self.precision, "matmul_precision": self.matmul_precision if self.is_gpu else None,
                "compile": self.compile, "gpu_slot": self.slot}

    def prepare(self, net: torch.nn.Module) -> torch.nn.Module:
        """Sets the float32 matmul precision (GPU only: the CPU keeps torch's default) and compiles the
        network in place when asked (``nn.Module.compile``: the state-dict keys stay the same). On a GPU it
        first frees what an earlier trial of this process left cached (after an out-of-memory failure)."""
        if self.is_gpu:
            free_gpu_memory()
        if self.is_gpu and self.matmul_precision:
            torch.set_float32_matmul_precision(self.matmul_precision)
        if self.is_gpu:
            torch.cuda.set_device(self.index)
        if self.compile:
            net.compile()
        return net

    @contextlib.contextmanager
    def nondeterminism_recorded(self, extra: dict[str, Any]) -> Iterator[None]:
        """While training, collects torch's "<op> does not have a deterministic implementation" warnings
        into ``extra["nondeterministic_ops"]`` and logs each op once; other warnings pass unchanged."""
        if not self.deterministic or self.accelerator == "cpu":
            yield
            return
        ops: list[str] = extra.setdefault("nondeterministic_ops", [])
        shown = warnings.showwarning

        def intercept(message, category, filename, lineno, file=None, line=None):
            match = NONDETERMINISTIC.match(str(message))
            if match is None:
                return shown(message, category, filename, lineno, file, line)
            if match["op"] not in ops:
                ops.append(match["op"])
                log.warning("trainer.deterministic: %s has no deterministic implementation on %s; runs with the "
                            "same seed may differ slightly", match["op"], self.name)
            return None

        with warnings.catch_warnings():
            warnings.filterwarnings("always", message=NONDETERMINISTIC.pattern[1:])
            warnings.showwarning = intercept
            yield


def gpu_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_accelerator(setting: Any) -> str:
    """``trainer.accelerator`` -> ``"cpu"``, ``"gpu"`` or ``"mps"``; raises :class:`DeviceUnavailable`
    when the named device is not there."""
    name = str(setting).lower()
    if name not in ACCELERATORS:
        raise ConfigError(f"trainer.accelerator={setting!r} must be one of {', '.join(ACCELERATORS)}")
    if name == "auto":
        return "gpu" if gpu_count() else "cpu"
    if name in ("gpu", "cuda"):
        if not gpu_count():
            built = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA (a CPU-only build)"
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            hint = f", CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else ""
            raise DeviceUnavailable(f"trainer.accelerator={setting}: this process sees no CUDA GPU (torch "
                                    f"{torch.__version__} with {built}{hint}); use trainer.accelerator=cpu, or "
                                    "auto to train on a GPU only where there is one")
        return "gpu"
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceUnavailable(f"trainer.accelerator={setting}: Apple's MPS backend is not available here; "
                                "use trainer.accelerator=cpu or auto")
    return name


def settings_problems(trainer_cfg: Any) -> list[str]:
    """Every ``trainer.*`` device setting that is malformed, whatever the machine (checked before any
    data is read, with the other trainer keys)."""
    problems = []
    accelerator = str(trainer_cfg.get("accelerator", "auto")).lower()
    if accelerator not in ACCELERATORS:
        problems.append(f"trainer.accelerator={trainer_cfg.get('accelerator')!r} "
                        f"must be one of {', '.join(ACCELERATORS)}")
    devices = trainer_cfg.get("devices", 1)
    devices = OmegaConf.to_container(devices) if OmegaConf.is_config(devices) else devices
    if not _one_device(devices):
        problems.append(f"trainer.devices={devices!r} must be 1 or one GPU index as a list ([k]): a run trains one "
                        "model on one device; a sweep uses several GPUs, one trial on each (docs/stages.md, GPUs)")
    precision = str(trainer_cfg.get("precision", "32"))
    if precision not in PRECISIONS:
        problems.append(f"trainer.precision={trainer_cfg.get('precision')!r} must be one of 32, bf16-mixed, 16-mixed")
    elif precision == "16-mixed" and accelerator == "cpu":
        problems.append("trainer.precision=16-mixed needs a GPU (no float16 autocast on CPU); use bf16-mixed on CPU")
    matmul = trainer_cfg.get("matmul_precision", "high")
    if matmul is not None and matmul not in MATMUL_PRECISIONS:
        problems.append(f"trainer.matmul_precision={matmul!r} must be null or one of {', '.join(MATMUL_PRECISIONS)}")
    for key in ("compile", "deterministic"):
        if not isinstance(trainer_cfg.get(key, False), bool):
            problems.append(f"trainer.{key}={trainer_cfg.get(key)!r} must be true or false")
    per_gpu = trainer_cfg.get("trials_per_gpu", 1)
    if not (isinstance(per_gpu, int) and not isinstance(per_gpu, bool) and per_gpu >= 1):
        problems.append(f"trainer.trials_per_gpu={per_gpu!r} must be an integer >= 1")
    return problems


def _one_device(devices: Any) -> bool:
    if isinstance(devices, bool):
        return False
    if devices == 1 or devices == "1":
        return True
    return (isinstance(devices, (list, tuple)) and len(devices) == 1 and isinstance(devices[0], int)
            and not isinstance(devices[0], bool) and devices[0] >= 0)


def resolve_device(trainer_cfg: Any, hydra_cfg: Optional[Any] = None) -> TrainingDevice:
    """The device this run trains on. Call after :func:`settings_problems` found nothing."""
    accelerator = resolve_accelerator(trainer_cfg.get("accelerator", "auto"))
    precision = PRECISIONS[str(trainer_cfg.get("precision", "32"))]
    if precision == "16-mixed" and accelerator == "cpu":
        raise ConfigError(f"trainer.precision=16-mixed needs a GPU, and trainer.accelerator="
                          f"{trainer_cfg.get('accelerator', 'auto')} resolved to the CPU; use bf16-mixed or 32")
    index, slot, slot_dir = None, None, None
    if accelerator == "gpu":
        if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
            name = torch.cuda.get_device_name(_explicit_index(trainer_cfg) or 0)
            raise ConfigError(f"trainer.precision=bf16-mixed: {name} has no bfloat16 support; use 16-mixed or 32")
        index, slot, slot_dir = _gpu_index(trainer_cfg, hydra_cfg)
    return TrainingDevice(accelerator=accelerator, index=index, name=device_name(accelerator, index),
                          precision=precision, matmul_precision=trainer_cfg.get("matmul_precision", "high"),
                          compile=bool(trainer_cfg.get("compile", False)),
                          deterministic=bool(trainer_cfg.get("deterministic", True)), slot=slot, slot_dir=slot_dir)


def _explicit_index(trainer_cfg: Any) -> Optional[int]:
    devices = trainer_cfg.get("devices", 1)
    return None if devices == 1 or devices == "1" else int(list(devices)[0])


def _gpu_index(trainer_cfg: Any, hydra_cfg: Optional[Any]) -> tuple[int, Optional[int], Optional[Path]]:
    """(GPU index, slot, slot folder): an explicit ``trainer.devices=[k]``, else the trial's slot in a local
    parallel sweep, else GPU 0."""
    count = gpu_count()
    index = _explicit_index(trainer_cfg)
    if index is not None:
        if index >= count:
            raise DeviceUnavailable(f"trainer.devices=[{index}]: this process sees {count} GPU(s), "
                                    f"indices 0..{count - 1}")
        return index, None, None
    sweep_dir = local_sweep_dir(hydra_cfg)
    if sweep_dir is None:
        return 0, None, None
    folder = sweep_dir / SLOT_DIR
    slot = lease_slot(folder, count * int(trainer_cfg.get("trials_per_gpu", 1)))
    return slot % count, slot, folder


def device_name(accelerator: str, index: Optional[int] = None) -> str:
    if accelerator == "gpu":
        return torch.cuda.get_device_name(index)
    if accelerator == "mps":
        return "Apple MPS"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "cpu"


# --- one GPU per parallel trial --------------------------------------------------------------------

def local_sweep_dir(hydra_cfg: Optional[Any]) -> Optional[Path]:
    """The sweep dir when this run is a trial under a launcher that runs trials in parallel processes on
    this machine (joblib, submitit's local executor), else None (a single run, the basic launcher, SLURM,
    Ray: there each trial sees only its own GPU or runs alone)."""
    if hydra_cfg is None:
        return None
    launcher = hydra_cfg.get("launcher") or {}
    target = str(launcher.get("_target_", "")).lower()
    if not ("joblib" in target or ("submitit" in target and "local" in target)):
        return None
    sweep = hydra_cfg.get("sweep") or {}
    return Path(str(sweep.get("dir"))).resolve() if sweep.get("dir") else None


_leases: dict[str, tuple[int, int]] = {}  # slot folder -> (slot, open fd holding its flock)


def lease_slot(folder: Path, n_slots: int, poll_s: float = 0.5, timeout_s: Optional[float] = None) -> int:
    """This process's slot in ``folder`` (``0 .. n_slots-1``): the lowest one no other live process holds.
    Held until :func:`release_slot` (the end of the trial) or the process's exit; waits while every slot
    is taken (``timeout_s``: give up with TimeoutError)."""
    key = str(folder)
    if key in _leases:
        return _leases[key][0]
    for other in list(_leases):  # a slot of an earlier sweep in this process
        os.close(_leases.pop(other)[1])
    folder.mkdir(parents=True, exist_ok=True)
    waited, start = False, time.monotonic()
    while True:
        for slot in range(max(1, n_slots)):
            fd = try_lock(folder / f"slot-{slot}.lock")
            if fd is not None:
                _leases[key] = (slot, fd)
                return slot
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            raise TimeoutError(f"no free GPU slot among {n_slots} in {folder} after {timeout_s} s")
        if not waited:
            log.info("all %d GPU slots in %s are taken: waiting for a running trial to end (raise "
                     "trainer.trials_per_gpu to share a GPU, or lower hydra.launcher.n_jobs)", n_slots, folder)
            waited = True
        time.sleep(poll_s)


def try_lock(path: Path) -> Optional[int]:
    """An fd holding an exclusive ``flock`` on ``path``, or None when another open file holds it."""
    import fcntl

    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
    return fd


def release_slot(folder: Path) -> None:
    """Gives back this process's slot in ``folder``, if it holds one."""
    lease = _leases.pop(str(folder), None)
    if lease is not None:
        os.close(lease[1])


def free_gpu_memory() -> None:
    """Collects unreachable tensors and returns torch's cached GPU blocks to the driver."""
    gc.collect()
    if gpu_count():
        torch.cuda.empty_cache()


def release_slots() -> None:
    """Gives back every slot this process holds (tests; a worker's slots go when it exits)."""
    for key in list(_leases):
        os.close(_leases.pop(key)[1])


def parallel_jobs(accelerator: Any, trials_per_gpu: Any, cpu_jobs: Any) -> int:
    """``n_jobs`` of ``hydra/launcher=local_parallel``: GPUs * trials_per_gpu when the trials train on
    GPUs, else ``cpu_jobs``. Registered as the ``${genarch_parallel_jobs:...}`` resolver."""
    if str(accelerator).lower() in ("cpu", "mps") or not gpu_count():
        return int(cpu_jobs)
    return gpu_count() * max(1, int(trials_per_gpu))


def ray_gpus_per_trial(accelerator: Any, trials_per_gpu: Any) -> float:
    """``ray.remote.num_gpus`` of ``hydra/launcher=ray_local``: 1 / trials_per_gpu on a machine with GPUs
    (Ray then sets each trial's CUDA_VISIBLE_DEVICES), 0 for CPU trials. ``${genarch_ray_gpus:...}``."""
    if str(accelerator).lower() in ("cpu", "mps") or not gpu_count():
        return 0.0
    return 1.0 / max(1, int(trials_per_gpu))


def register_resolvers() -> None:
    for name, fn in (("genarch_parallel_jobs", parallel_jobs), ("genarch_ray_gpus", ray_gpus_per_trial)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


register_resolvers()  # a launcher config read in a worker (threads.py) resolves them too


# --- failures --------------------------------------------------------------------------------------

def failure_facts(exc: BaseException) -> dict[str, Any]:
    """What result.json's ``extra`` records about a failure the device caused: ``failure_reason:
    out_of_memory`` for torch's OutOfMemoryError (the sweep records the trial as failed and goes on).
    The memory itself is freed by ``train()`` (it drops the failed trial's tensors) and by
    :meth:`TrainingDevice.prepare` at the start of the worker's next GPU trial."""
    if type(exc).__name__ != "OutOfMemoryError":
        return {}
    free_gpu_memory()
    return {"failure_reason": "out_of_memory"}
