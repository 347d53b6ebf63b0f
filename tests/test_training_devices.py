"""Device settings on a machine without a GPU (genarch/training/devices.py): accelerator resolution, the
one-line error for a GPU that is not there, a GPU per parallel trial with a faked device count, the
launcher presets' n_jobs / num_gpus, precision and compile recorded in result.json, and a trial that
runs out of GPU memory recorded as failed while the sweep goes on. GPU-only checks are in
tests/test_training_gpu.py (marked ``gpu``)."""

import dataclasses
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from genarch.model import ConfigError
from genarch.training import devices
from genarch.training.devices import (DeviceUnavailable, lease_slot, local_sweep_dir, parallel_jobs,
                                      ray_gpus_per_trial, resolve_accelerator, resolve_device, settings_problems)

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "genarch" / "conf"
JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
SUBMITIT_LOCAL = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"
SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
RAY = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
TINY = ["trainer=smoke", "dataset.n=300", "trainer.batch_size=50", "++summary=false"]


@pytest.fixture
def gpus(monkeypatch):
    """Fakes ``n`` visible CUDA GPUs: ``gpus(2)``."""
    def fake(n: int) -> None:
        monkeypatch.setattr(devices, "gpu_count", lambda: n)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: f"Fake GPU {index}")
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    yield fake
    devices.release_slots()


def trainer(**settings):
    return OmegaConf.create({"accelerator": "auto", "devices": 1, "precision": "32", "matmul_precision": "high",
                             "compile": False, "deterministic": True, "trials_per_gpu": 1, **settings})


def hydra_node(target: str, sweep_dir: Path, **launcher):
    return OmegaConf.create({"launcher": {"_target_": target, **launcher}, "sweep": {"dir": str(sweep_dir)}})


@pytest.mark.parametrize("setting, n_gpus, expected", [
    ("auto", 0, "cpu"), ("auto", 2, "gpu"), ("cpu", 2, "cpu"), ("gpu", 1, "gpu"), ("cuda", 1, "gpu"), ("GPU", 1, "gpu"),
    ("gpu", 0, "trainer.accelerator=gpu: this process sees no CUDA GPU"),
    ("cuda", 0, "trainer.accelerator=cuda: this process sees no CUDA GPU"),
    ("tpu", 0, "trainer.accelerator='tpu' must be one of auto, cpu, gpu, cuda, mps"),
])
def test_accelerator_resolution(gpus, setting, n_gpus, expected):
    gpus(n_gpus)
    if expected in ("cpu", "gpu"):
        assert resolve_accelerator(setting) == expected
    else:
        with pytest.raises(ConfigError, match=expected.replace("(", r"\(")) as err:
            resolve_accelerator(setting)
        assert "\n" not in str(err.value)
        assert isinstance(err.value, DeviceUnavailable) == (setting != "tpu")


def test_mps_where_there_is_none_is_refused(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailable, match="MPS backend is not available"):
        resolve_accelerator("mps")


@pytest.mark.parametrize("settings, problem", [
    ({}, None),
    ({"devices": [1]}, None),
    ({"precision": 32}, None),                      # trainer.precision=32 from the command line is an int
    ({"precision": "bf16-mixed", "accelerator": "cpu"}, None),
    ({"matmul_precision": None}, None),
    ({"devices": 2}, "trainer.devices=2 must be 1 or one GPU index"),
    ({"devices": [0, 1]}, r"trainer.devices=\[0, 1\] must be 1"),
    ({"devices": True}, "trainer.devices=True"),
    ({"precision": "fp8"}, "trainer.precision='fp8' must be one of 32, bf16-mixed, 16-mixed"),
    ({"precision": "16-mixed", "accelerator": "cpu"}, "trainer.precision=16-mixed needs a GPU"),
    ({"matmul_precision": "low"}, "trainer.matmul_precision='low' must be null or one of highest, high, medium"),
    ({"compile": "yes"}, "trainer.compile='yes' must be true or false"),
    ({"trials_per_gpu": 0}, "trainer.trials_per_gpu=0 must be an integer >= 1"),
    ({"accelerator": "tpu"}, "trainer.accelerator='tpu'"),
])
def test_device_settings_are_checked_before_any_data(settings, problem):
    problems = settings_problems(trainer(**settings))
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and __import__("re").search(problem, problems[0]), problems


def test_cpu_device_keeps_todays_trainer_settings(gpus):
    gpus(0)
    device = resolve_device(trainer(precision="bf16-mixed", compile=True))
    assert device.trainer_kwargs() == {"accelerator": "cpu", "devices": 1, "precision": "bf16-mixed",
                                       "deterministic": True}
    facts = device.facts()
    assert facts["accelerator"] == "cpu" and facts["device"] == "cpu" and facts["device_name"]
    assert facts["precision"] == "bf16-mixed" and facts["compile"] is True and facts["matmul_precision"] is None


def test_gpu_device_uses_deterministic_algorithms_with_warnings_and_records_them(gpus):
    gpus(2)
    device = resolve_device(trainer(devices=[1], precision="bf16-mixed"))
    assert (device.index, device.slot, device.name) == (1, None, "Fake GPU 1")
    assert device.trainer_kwargs() == {"accelerator": "gpu", "devices": [1], "precision": "bf16-mixed",
                                       "deterministic": "warn"}
    assert device.facts()["device"] == "cuda:1" and device.facts()["matmul_precision"] == "high"
    extra: dict = {}
    with pytest.warns(UserWarning, match="unrelated"):
        with device.nondeterminism_recorded(extra):
            for _ in range(2):  # torch's own wording (aten/src/ATen/Context.cpp, alertNotDeterministic)
                __import__("warnings").warn("adaptive_max_pool2d_backward_cuda does not have a deterministic "
                                            "implementation, but you set 'torch.use_deterministic_algorithms(True, "
                                            "warn_only=True)'.", UserWarning)
            __import__("warnings").warn("unrelated", UserWarning)
    assert extra["nondeterministic_ops"] == ["adaptive_max_pool2d_backward_cuda"]


def test_a_gpu_index_beyond_the_visible_ones_is_refused(gpus):
    gpus(2)
    with pytest.raises(DeviceUnavailable, match=r"trainer.devices=\[3\]: this process sees 2 GPU\(s\), indices 0..1"):
        resolve_device(trainer(devices=[3]))


def test_bf16_on_a_gpu_without_it_is_refused(gpus, monkeypatch):
    gpus(1)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ConfigError, match="trainer.precision=bf16-mixed: Fake GPU 0 has no bfloat16 support"):
        resolve_device(trainer(precision="bf16-mixed"))


@pytest.mark.parametrize("target, parallel", [
    (JOBLIB, True), (SUBMITIT_LOCAL, True), (SLURM, False), (RAY, False),
    ("hydra._internal.core_plugins.basic_launcher.BasicLauncher", False),
])
def test_only_local_parallel_launchers_lease_a_gpu_per_trial(tmp_path, target, parallel):
    found = local_sweep_dir(hydra_node(target, tmp_path / "sweep"))
    assert found == ((tmp_path / "sweep").resolve() if parallel else None)
    assert local_sweep_dir(None) is None


def _trial_device(sweep_dir, trials_per_gpu, queue, release) -> None:
    """A forked 'worker': resolves its device as a trial of a joblib sweep would, reports it, holds it."""
    device = resolve_device(trainer(trials_per_gpu=trials_per_gpu), hydra_node(JOBLIB, sweep_dir))
    queue.put((device.slot, device.index))
    release.wait(30)


@pytest.mark.parametrize("n_gpus, trials_per_gpu, expected", [
    (2, 1, [(0, 0), (1, 1)]),                    # worker k sees device k
    (2, 2, [(0, 0), (1, 1), (2, 0), (3, 1)]),    # spread over the GPUs first, then share
    (1, 3, [(0, 0), (1, 0), (2, 0)]),
])
def test_each_parallel_worker_gets_its_own_gpu_slot(gpus, tmp_path, n_gpus, trials_per_gpu, expected):
    gpus(n_gpus)
    ctx = multiprocessing.get_context("fork")  # the children keep the faked device count
    queue, workers, releases = ctx.Queue(), [], []
    for _ in expected:
        releases.append(ctx.Event())
        workers.append(ctx.Process(target=_trial_device, args=(tmp_path, trials_per_gpu, queue, releases[-1])))
        workers[-1].start()
        assert workers[-1].is_alive()
    try:
        got = sorted(queue.get(timeout=60) for _ in expected)
        assert got == expected
        # every slot is taken: one more trial waits; once a worker ends, its slot is free again
        folder = tmp_path.resolve() / devices.SLOT_DIR
        with pytest.raises(TimeoutError, match=f"no free GPU slot among {len(expected)}"):
            _fresh_lease(ctx, folder, len(expected), timeout_s=0.3)
        releases[0].set()
        workers[0].join(30)
        assert _fresh_lease(ctx, folder, len(expected), timeout_s=10) in {slot for slot, _ in expected}
    finally:
        for release, worker in zip(releases, workers):
            release.set()
            worker.join(30)


def _lease_in_child(folder, n, timeout_s, queue) -> None:
    devices._leases.clear()  # a forked child is another worker: the parent's leases are not its own
    try:
        queue.put(lease_slot(folder, n, poll_s=0.05, timeout_s=timeout_s))
    except TimeoutError as exc:
        queue.put(exc)


def _fresh_lease(ctx, folder, n, timeout_s):
    """A slot leased by a new process (this one's own leases would be reused)."""
    queue = ctx.Queue()
    child = ctx.Process(target=_lease_in_child, args=(folder, n, timeout_s, queue))
    child.start()
    answer = queue.get(timeout=60)
    child.join(30)
    if isinstance(answer, Exception):
        raise answer
    return answer


def _worker_running_trials(sweep_dir, n_trials, queue, stay) -> None:
    """A forked joblib 'worker' that runs ``n_trials`` trials one after another, then stays alive (as loky's
    idle workers do) until told to exit."""
    for _ in range(n_trials):
        device = resolve_device(trainer(), hydra_node(JOBLIB, sweep_dir, n_jobs=3))
        queue.put((os.getpid(), device.slot))
        time.sleep(0.1)  # the trial trains
        device.release()  # what train() does when the trial ends
    stay.wait(60)


def test_more_parallel_trials_than_slots_take_turns_without_waiting_for_a_worker_to_exit(gpus, tmp_path):
    gpus(1)  # one slot, three workers: each trial waits only for the running one to end
    ctx = multiprocessing.get_context("fork")
    queue, stay = ctx.Queue(), ctx.Event()
    workers = [ctx.Process(target=_worker_running_trials, args=(tmp_path, 2, queue, stay)) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        done = [queue.get(timeout=30) for _ in range(6)]  # before the fix: the 2nd worker waits forever
        assert all(worker.is_alive() for worker in workers)
        assert {slot for _, slot in done} == {0} and len({pid for pid, _ in done}) == 3
    finally:
        stay.set()
        for worker in workers:
            worker.join(30)


def test_train_gives_the_gpu_slot_back_when_the_trial_ends(gpus, tmp_path, monkeypatch):
    """A trial of a joblib sweep on a (faked) 1-GPU machine trains on the CPU while holding the sweep's only
    slot; when it ends, ok or failed, the next trial (a fresh process, or this one) gets the slot at once."""
    from genarch.data.errors import DataError
    from genarch.training import runner

    gpus(1)
    leased = []

    def on_cpu_holding_a_slot(trainer_cfg, hydra_cfg=None):
        device = devices.resolve_device(OmegaConf.merge(trainer_cfg, {"accelerator": "gpu"}), hydra_cfg)
        leased.append(device.slot)
        return dataclasses.replace(device, accelerator="cpu", index=None)

    monkeypatch.setattr(runner, "resolve_device", on_cpu_holding_a_slot)
    monkeypatch.setenv("GENARCH_CACHE", str(tmp_path / "cache"))
    sweep, ctx = tmp_path / "sweep", multiprocessing.get_context("fork")
    folder = sweep.resolve() / devices.SLOT_DIR
    cfg = _compose("trainer.threads=1", "trainer.save_checkpoint=false")
    result = runner.train(cfg, tmp_path / "t0", hydra_node(JOBLIB, sweep, n_jobs=2))
    assert result.status == "ok" and leased == [0]
    assert _fresh_lease(ctx, folder, 1, timeout_s=5) == 0  # another worker: no wait for this process to exit

    def fails(*args, **kwargs):
        raise DataError("the trial fails after leasing its slot")

    monkeypatch.setattr(runner, "check_val_can_score", fails)
    with pytest.raises(DataError):
        runner.train(cfg, tmp_path / "t1", hydra_node(JOBLIB, sweep, n_jobs=2))
    assert leased == [0, 0]
    assert _fresh_lease(ctx, folder, 1, timeout_s=5) == 0


def test_a_process_keeps_its_slot_and_gives_it_back_for_another_sweep(tmp_path):
    try:
        assert lease_slot(tmp_path / "a", 2) == 0
        assert lease_slot(tmp_path / "a", 2) == 0   # the same worker, its next trial: the same GPU
        assert lease_slot(tmp_path / "b", 2) == 0   # another sweep: the first slot is released
        assert devices.try_lock(tmp_path / "a" / "slot-0.lock") is not None
        assert (tmp_path / "b" / "slot-0.lock").read_text().strip() == str(os.getpid())
    finally:
        devices.release_slots()


@pytest.mark.parametrize("accelerator, n_gpus, per_gpu, jobs, ray_gpus", [
    ("auto", 0, 1, 2, 0.0), ("auto", 4, 1, 4, 1.0), ("gpu", 4, 2, 8, 0.5), ("cpu", 4, 1, 2, 0.0),
    ("auto", 1, 3, 3, 1 / 3),
])
def test_launcher_presets_follow_the_gpus(gpus, accelerator, n_gpus, per_gpu, jobs, ray_gpus):
    gpus(n_gpus)
    assert parallel_jobs(accelerator, per_gpu, 2) == jobs
    assert ray_gpus_per_trial(accelerator, per_gpu) == pytest.approx(ray_gpus)


@pytest.mark.parametrize("launcher, key, overrides, n_gpus, expected", [
    ("local_parallel", "n_jobs", [], 0, 2),
    ("local_parallel", "n_jobs", [], 3, 3),
    ("local_parallel", "n_jobs", ["trainer.trials_per_gpu=2"], 3, 6),
    ("local_parallel", "n_jobs", ["trainer.accelerator=cpu"], 3, 2),
    ("ray_local", "ray.remote.num_gpus", [], 0, 0.0),
    ("ray_local", "ray.remote.num_gpus", ["trainer.trials_per_gpu=4"], 2, 0.25),
])
def test_launcher_preset_resolves_from_the_composed_config(gpus, launcher, key, overrides, n_gpus, expected):
    gpus(n_gpus)
    if launcher == "ray_local":  # its base config comes with the optional Ray plugin: the preset on the trainer
        preset = OmegaConf.load(CONF / "hydra" / "launcher" / f"{launcher}.yaml")
        preset.pop("defaults")
        cfg = OmegaConf.create({**OmegaConf.to_container(_compose(*overrides)),
                                "hydra": {"sweep": {"dir": "/tmp/s"}, "launcher": OmegaConf.to_container(preset)}})
    else:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("config", overrides=[f"hydra/launcher={launcher}", *overrides], return_hydra_config=True)
    assert OmegaConf.select(cfg, f"hydra.launcher.{key}") == pytest.approx(expected)


def test_slurm_gpu_preset_asks_one_gpu_per_task():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=slurm_gpu"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher.gpus_per_task == 1 and launcher.cpus_per_task >= 1 and "Slurm" in launcher._target_


@pytest.mark.parametrize("n_gpus, num_gpus, cores, expected", [
    (0, 0, 16, 8),     # CPU trials: 2 at once (the batch), 8 threads each
    (2, 1, 16, 8),     # 2 GPUs, one trial each: 2 at once
    (1, 1, 16, 16),    # 1 GPU: one trial at a time gets every core
    (1, 0.5, 16, 8),   # 2 trials share the GPU
])
def test_threads_of_a_ray_gpu_trial(gpus, monkeypatch, n_gpus, num_gpus, cores, expected):
    import genarch.training.threads as threads

    gpus(n_gpus)
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    node = OmegaConf.create({"launcher": {"_target_": RAY, "ray": {"init": {"num_cpus": None},
                                                                    "remote": {"num_cpus": 1, "num_gpus": num_gpus}}},
                             "sweeper": {"num_workers": 2}})
    assert threads.choose_threads("auto", node) == expected


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[*TINY[:3], *overrides])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_asking_for_a_gpu_without_one_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "genarch", "trainer.accelerator=gpu", *TINY,
                           f"hydra.run.dir={tmp_path / 'run'}"], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "GENARCH_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("genarch:")]
    assert lines == [lines[0]]
    assert lines[0].startswith("genarch: trainer.accelerator=gpu: this process sees no CUDA GPU")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "failed" and result["error"].startswith("DeviceUnavailable: ")
    assert not (tmp_path / "cache").exists()  # refused before any data was generated


def test_precision_and_compile_are_recorded(tmp_path, monkeypatch):
    from genarch.app import run

    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(type(self).__name__))
    monkeypatch.setenv("GENARCH_CACHE", str(tmp_path / "cache"))
    run(_compose("trainer.precision=bf16-mixed", "trainer.compile=true", "trainer.accelerator=auto"), tmp_path / "run")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "ok" and compiled == ["GenomicNet"]
    extra = result["extra"]
    expected_device = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert extra["device"] == expected_device and extra["device_name"]
    assert (extra["precision"], extra["compile"]) == ("bf16-mixed", True)
    assert result["hparams"]["trainer.precision"] == "bf16-mixed"


def test_out_of_gpu_memory_is_a_failed_trial_with_that_reason(tmp_path, monkeypatch):
    from genarch.app import run
    from genarch.training.module import SequenceModule

    def out_of_memory(self, batch, batch_idx):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.11 GiB total)")

    monkeypatch.setattr(SequenceModule, "training_step", out_of_memory)
    monkeypatch.setenv("GENARCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(torch.OutOfMemoryError):
        run(_compose(), tmp_path / "run")
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "failed" and result["error"].startswith("OutOfMemoryError: CUDA out of memory.")
    assert result["extra"]["failure_reason"] == "out_of_memory" and "interrupted" not in result["extra"]
    assert result["n_params"] > 0 and result["extra"]["device"]


def test_a_failed_trial_leaves_no_model_alive_in_the_exception_the_launcher_keeps(tmp_path, monkeypatch):
    """Hydra's basic launcher keeps a failed trial's exception until the batch ends; its traceback must not
    keep the network, its best weights, the trainer and the (device-resident) data alive for the next trial."""
    import gc
    import traceback
    import weakref

    from genarch.training import runner

    alive, build = [], runner.build_model

    def build_and_watch(model_cfg, bundle):
        net = build(model_cfg, bundle)
        alive.append(weakref.ref(net))
        return net

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory during the final evaluation")

    monkeypatch.setattr(runner, "build_model", build_and_watch)
    monkeypatch.setattr(runner, "task_metrics", out_of_memory)  # fails after fit: module, trainer, best weights
    monkeypatch.setenv("GENARCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(torch.OutOfMemoryError) as kept:
        runner.train(_compose("trainer.threads=1", "trainer.save_checkpoint=false"), tmp_path / "run")
    gc.collect()
    assert len(alive) == 1 and alive[0]() is None
    text = "".join(traceback.format_exception(kept.value))
    assert "_train_on" in text and "out_of_memory" in text  # the traceback still says where it failed


OOM_SWEEP = """
import os, sys, torch
from genarch.training.module import SequenceModule
step = SequenceModule.training_step
def training_step(self, batch, batch_idx):
    try:  # the sweep's first trial runs out of (faked) GPU memory, the others train
        open(os.environ["OOM_MARK"], "x").close()
    except FileExistsError:
        return step(self, batch, batch_idx)
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
SequenceModule.training_step = training_step
from genarch.__main__ import cli
sys.argv = ["genarch", *sys.argv[1:]]
cli()
"""


@pytest.mark.slow
def test_a_sweep_goes_on_past_a_trial_out_of_gpu_memory(tmp_path):
    from genarch.ledger import load_trials

    sweep = tmp_path / "s"
    proc = subprocess.run([sys.executable, "-c", OOM_SWEEP, "hydra/sweeper=genarch", "trainer=smoke", "dataset.n=300",
                           "++summary=false", "model.stem.filters=choice(4,8,16)", "hydra.sweeper.budget=3",
                           "hydra.sweeper.num_workers=1", "hydra.sweeper.max_failure_rate=1.0",
                           f"hydra.sweep.dir={sweep}", "-m"],
                          cwd=REPO, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "GENARCH_CACHE": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "0",
                               "OOM_MARK": str(tmp_path / "oom_mark"),
                               "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    trials = load_trials(sweep)
    assert [t.status for t in trials] == ["failed", "ok", "ok"], [(t.status, t.error) for t in trials]
    assert trials[0].error.startswith("OutOfMemoryError: CUDA out of memory")
    assert json.loads((sweep / trials[0].dir / "result.json").read_text())["extra"]["failure_reason"] == "out_of_memory"


@pytest.mark.slow
def test_local_parallel_preset_on_cpu_runs_two_trials_at_once(tmp_path):
    """The preset's ${genarch_parallel_jobs:...} resolves in the sweeper and in each worker (threads)."""
    from genarch.ledger import load_trials

    sweep = tmp_path / "s"
    proc = subprocess.run([sys.executable, "-m", "genarch", "hydra/sweeper=genarch", "hydra/launcher=local_parallel",
                           "trainer=smoke", "dataset.n=300", "++summary=false", "trainer.accelerator=cpu",
                           # a continuous key: two distinct candidates, launched together (with choice(4, 8) NGOpt
                           # asked 4 twice, and the two trials ran one after the other, each with every core)
                           "optimizer.lr_scale=interval(0.5,2)", "hydra.sweeper.budget=2",
                           "hydra.sweeper.num_workers=2",
                           f"hydra.sweep.dir={sweep}", "-m"],
                          cwd=REPO, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "GENARCH_CACHE": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "0"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sweep_log = sweep / "sweep.log"
    launch_lines = proc.stdout + proc.stderr + (sweep_log.read_text() if sweep_log.exists() else "")
    assert "n_jobs=2" in launch_lines  # joblib's launch line (the sweep's log file keeps the launcher's detail)
    trials = load_trials(sweep)
    assert len(trials) == 2 and all(t.status == "ok" for t in trials)
    cores = len(os.sched_getaffinity(0))
    for t in trials:
        extra = json.loads((sweep / t.dir / "result.json").read_text())["extra"]
        assert extra["accelerator"] == "cpu" and extra["threads"] == max(1, cores // 2) and extra["gpu_slot"] is None


def test_host_batches_for_a_gpu_stay_uint8_and_expand_to_the_same_floats():
    """The path a split too big for the GPU takes (the DataLoader pins, Lightning copies, the module expands)."""
    import numpy as np

    from genarch.data.base import ArraySplit, to_float
    from genarch.training.batches import BatchArrays, ShuffledBatches, fits_on

    rng = np.random.default_rng(0)
    x = (rng.integers(0, 4, size=(50, 20))[:, None, :] == np.arange(4)[None, :, None]).astype(np.uint8)
    x[:3, :, :2] = 1  # N columns
    split = ArraySplit(x, rng.normal(size=(50, 1)).astype(np.float32))
    index = next(iter(ShuffledBatches(50, 16, True, seed=1, device=torch.device("cpu"))))
    assert torch.equal(index, next(iter(ShuffledBatches(50, 16, True, seed=1))))  # the same order on any device
    host, plain = BatchArrays(split, pinned=True)[index], BatchArrays(split)[index]
    assert host[0].dtype == torch.uint8 and plain[0].dtype == torch.float32
    torch.testing.assert_close(to_float(host[0]), plain[0])
    torch.testing.assert_close(host[1], plain[1])
    assert not fits_on(torch.device("cpu"), split)  # the CPU keeps today's batches
