"""Training throughput: genarch (Lightning module, batcher, trainer settings of a real run) against a
bare PyTorch loop over the same model and the same data, side by side in one process, alternating so
machine noise hits both alike.

CPU mode (default): model=attentionnet on 101-bp inputs, the data in host memory as the runner keeps it.

    nice -n 10 python -m experiments.bench_throughput --n 8000 --rounds 4 --threads 1
    python -m experiments.bench_throughput                  # 20,000 sequences, 5 rounds, every core

GPU mode (``--device cuda``): the paper's AttentionNet (``model=attentionnet``, Table 3) on 101 bp at
batch 250 and a PromoterNet (``model=promoternet``) on 2 kb inputs, each in fp32 and bf16-mixed; both
loops read the same device-resident uint8 split (genarch's own batcher puts it there, as in a run).
Reports sequences/s, the paired ratio genarch / bare (target >= 0.9 on a GPU, >= 0.95 on CPU), the
GPU utilisation each reaches (NVML through torch.cuda.utilization, else nvidia-smi), and, to say what
bounds the bare loop, its rate at 4x the batch size (a launch-bound loop speeds up nearly 4x).

    python -m experiments.bench_throughput --device cuda    # writes throughput_gpu_<device>.json

Writes experiments/results/throughput.json (CPU) or throughput_gpu_<device>.json (GPU), with the command.
"""

import argparse
import json
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from genarch.data.base import ArraySplit
from genarch.model import GenomicNet
from genarch.training.batches import make_loader
from genarch.training.devices import TrainingDevice, resolve_device
from genarch.training.module import SequenceModule
from genarch.training.threads import apply_threads, available_cores

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
TARGET = {"cpu": 0.95, "cuda": 0.9}

# (model config, input length, batch size, task, sequences per epoch) of the GPU mode
GPU_CASES = {
    "attentionnet": ("attentionnet", 101, 250, "binary", 200_000),   # Table 3 AttentionNet at batch 250
    "promoternet": ("promoternet", 2000, 125, "regression", 20_000),  # PromoterNet on 2 kb promoters
}


def random_split(n: int, length: int, seed: int) -> ArraySplit:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length), dtype=np.uint8)
    x = (codes[:, None, :] == np.arange(4, dtype=np.uint8)[None, :, None]).astype(np.uint8)
    return ArraySplit(x, rng.integers(0, 2, size=(n, 1)).astype(np.float32))


def model_configs(model: str) -> tuple[dict, dict]:
    """The model and optimizer configs ``python -m genarch model=<model>`` trains."""
    with initialize_config_dir(config_dir=str(ROOT / "genarch" / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"model={model}"])
    return OmegaConf.to_container(cfg.model, resolve=True), OmegaConf.to_container(cfg.optimizer, resolve=True)


def synchronize(device: TrainingDevice) -> None:
    if device.is_gpu:
        torch.cuda.synchronize(device.index)


class EpochTimer(pl.Callback):
    """Times the training epoch alone (and samples the GPU over it), not the trainer's set-up."""

    def __init__(self, device: TrainingDevice, sampler: Any = None) -> None:
        self.device, self.sampler = device, sampler or nullcontext()

    def on_train_epoch_start(self, trainer, pl_module):
        synchronize(self.device)
        self.sampler.__enter__()
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        synchronize(self.device)
        self.seconds = time.perf_counter() - self.start
        self.sampler.__exit__(None, None, None)


def genarch_epoch(model_cfg, optimizer_cfg, split: ArraySplit, batch_size: int, seed: int,
                  device: TrainingDevice, task: str = "binary", sampler: Any = None) -> float:
    """One epoch as ``genarch.training.runner`` trains it: the same module, batcher and trainer flags."""
    torch.manual_seed(seed)
    net = device.prepare(GenomicNet(model_cfg, split.x.shape[2], 1))
    module = SequenceModule(net, task, optimizer_cfg, ["y"])
    timer = EpochTimer(device, sampler)
    trainer = pl.Trainer(**device.trainer_kwargs(), max_epochs=1, callbacks=[timer], logger=False,
                         enable_checkpointing=False, enable_model_summary=False, enable_progress_bar=False,
                         num_sanity_val_steps=0, limit_val_batches=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, make_loader(split, batch_size, True, seed, device.torch_device))
    return len(split) / timer.seconds


def bare_epoch(model_cfg, optimizer_cfg, split: ArraySplit, batch_size: int, seed: int,
               device: TrainingDevice, task: str = "binary", resident: Optional[tuple] = None,
               sampler: Any = None) -> float:
    """The loop one would write by hand: the same network, optimizer and (device-resident) uint8 data,
    autocast for bf16-mixed, no framework."""
    torch.manual_seed(seed)
    where = device.torch_device
    net = device.prepare(GenomicNet(model_cfg, split.x.shape[2], 1)).to(where).train()
    opt = torch.optim.Adam(net.parameters(), lr=optimizer_cfg["base_lr"] * optimizer_cfg.get("lr_scale", 1.0),
                           weight_decay=optimizer_cfg.get("l2", 0.0))
    loss_fn = torch.nn.BCEWithLogitsLoss() if task == "binary" else torch.nn.MSELoss()
    x_all, y_all = resident or (torch.from_numpy(split.x).to(where), torch.from_numpy(split.y).to(where))
    autocast = (torch.autocast(where.type, dtype=torch.bfloat16) if device.precision == "bf16-mixed"
                else torch.autocast(where.type, dtype=torch.float16) if device.precision == "16-mixed"
                else nullcontext())
    scaler = torch.amp.GradScaler(where.type, enabled=device.precision == "16-mixed")
    generator = torch.Generator().manual_seed(seed)
    synchronize(device)
    sampler = sampler or nullcontext()
    sampler.__enter__()
    start = time.perf_counter()
    for index in torch.randperm(len(split), generator=generator).to(where).split(batch_size):
        x = x_all[index].float()
        with autocast:
            loss = loss_fn(net(x), y_all[index])
        opt.zero_grad()
        if scaler.is_enabled():  # 16-mixed only: fp16 gradients need loss scaling
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
    synchronize(device)
    seconds = time.perf_counter() - start
    sampler.__exit__(None, None, None)
    return len(split) / seconds


class Utilisation:
    """Samples the GPU's utilisation (% of time a kernel ran, NVML) every ``period`` seconds while open:
    through ``torch.cuda.utilization`` (needs nvidia-ml-py), else ``nvidia-smi``; None where neither."""

    def __init__(self, index: int, period: float = 0.1) -> None:
        self.index, self.period, self.samples = index, period, []
        self.source = self._probe()

    def _probe(self) -> Optional[str]:
        try:
            torch.cuda.utilization(self.index)
            return "nvml"
        except Exception:  # noqa: BLE001 - pynvml missing or NVML not usable
            pass
        try:
            self._smi()
            return "nvidia-smi"
        except Exception:  # noqa: BLE001
            return None

    def _smi(self) -> float:
        out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                              "-i", str(self.index)], capture_output=True, text=True, timeout=5, check=True)
        return float(out.stdout.strip().splitlines()[0])

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.samples.append(float(torch.cuda.utilization(self.index)) if self.source == "nvml" else self._smi())
            except Exception:  # noqa: BLE001 - a lost sample is not a lost measurement
                pass

    def __enter__(self) -> "Utilisation":
        self.samples, self._stop = [], threading.Event()
        if self.source:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.source:
            self._thread.join()

    @property
    def mean(self) -> Optional[float]:
        return statistics.mean(self.samples) if self.samples else None


def side_by_side(model_cfg, optimizer_cfg, split: ArraySplit, batch_size: int, rounds: int,
                 device: TrainingDevice, task: str) -> dict[str, Any]:
    """Warm-up of each, then ``rounds`` rounds of one genarch and one bare epoch in alternating order."""
    warm = split.subset(np.arange(min(len(split), 20 * batch_size)))
    genarch_epoch(model_cfg, optimizer_cfg, warm, batch_size, 0, device, task)
    bare_epoch(model_cfg, optimizer_cfg, warm, batch_size, 0, device, task)
    resident = None
    if device.is_gpu:  # the bare loop's copy of the split, made once like genarch's
        resident = (torch.from_numpy(split.x).to(device.torch_device),
                    torch.from_numpy(split.y).to(device.torch_device))
    rates: dict[str, list[float]] = {"genarch": [], "bare": []}
    utilisation: dict[str, list[float]] = {"genarch": [], "bare": []}
    for round_ in range(rounds):
        for name in (("genarch", "bare") if round_ % 2 == 0 else ("bare", "genarch")):
            sampler = Utilisation(device.index) if device.is_gpu else None
            if name == "genarch":
                rate = genarch_epoch(model_cfg, optimizer_cfg, split, batch_size, round_, device, task, sampler)
            else:
                rate = bare_epoch(model_cfg, optimizer_cfg, split, batch_size, round_, device, task, resident, sampler)
            rates[name].append(rate)
            if device.is_gpu and sampler.mean is not None:
                utilisation[name].append(sampler.mean)
            print(f"  round {round_ + 1} {name:8s} {rate:11.0f} seq/s"
                  + (f"  GPU {sampler.mean:.0f}%" if device.is_gpu and sampler.mean is not None else ""), flush=True)
    paired = [g / b for g, b in zip(rates["genarch"], rates["bare"])]  # cancels slow drifts of the machine
    report = {"n": len(split), "batch_size": batch_size, "rounds": rounds, "seq_per_s": rates,
              "median_seq_per_s": {k: statistics.median(v) for k, v in rates.items()},
              "paired_ratios": paired, "ratio_genarch_over_bare": statistics.median(paired)}
    if device.is_gpu:
        report["gpu_utilisation_pct"] = {k: (statistics.mean(v) if v else None) for k, v in utilisation.items()}
        big = split.subset(np.arange(min(len(split), 4 * batch_size * max(1, len(split) // (4 * batch_size)))))
        report["bare_seq_per_s_at_4x_batch"] = bare_epoch(model_cfg, optimizer_cfg, big, 4 * batch_size, 0, device,
                                                          task, (resident[0][: len(big)], resident[1][: len(big)]))
        report["speedup_at_4x_batch"] = report["bare_seq_per_s_at_4x_batch"] / report["median_seq_per_s"]["bare"]
        del resident
        torch.cuda.empty_cache()
    return report


def device_for(args, precision: str) -> TrainingDevice:
    trainer = {"accelerator": "gpu" if args.device == "cuda" else "cpu", "devices": 1, "precision": precision,
               "matmul_precision": args.matmul_precision, "compile": args.compile, "deterministic": args.deterministic}
    return resolve_device(OmegaConf.create(trainer))


def run_cpu(args) -> dict[str, Any]:
    apply_threads(args.threads or available_cores())
    model_cfg, optimizer_cfg = model_configs("attentionnet")
    device = device_for(args, "32")
    report = side_by_side(model_cfg, optimizer_cfg, random_split(args.n, 101, 0), args.batch_size, args.rounds,
                          device, "binary")
    return {"device": "cpu", "device_name": device.name, "model": "attentionnet", "length": 101,
            "threads": torch.get_num_threads(), "target": TARGET["cpu"], **report}


def run_gpu(args, save) -> dict[str, Any]:
    device0 = device_for(args, "32")
    out: dict[str, Any] = {"device": str(device0.torch_device), "device_name": device0.name, "torch": torch.__version__,
                           "cuda": torch.version.cuda, "deterministic": args.deterministic,
                           "matmul_precision": args.matmul_precision, "compile": args.compile,
                           "target": TARGET["cuda"], "cases": []}
    for key in args.models:
        model, length, batch_size, task, n = GPU_CASES[key]
        model_cfg, optimizer_cfg = model_configs(model)
        split = random_split(args.n or n, length, 0)
        if task == "regression":
            split = ArraySplit(split.x, np.random.default_rng(1).normal(size=(len(split), 1)).astype(np.float32))
        for precision in args.precisions:
            device = device_for(args, precision)
            print(f"{model} L={length} batch {batch_size} {precision} on {device.name}", flush=True)
            report = side_by_side(model_cfg, optimizer_cfg, split, batch_size, args.rounds, device, task)
            out["cases"].append({"model": model, "length": length, "task": task, "precision": precision, **report})
            save(out)  # case by case: a run cut short keeps what it measured
            print(f"  -> genarch {report['median_seq_per_s']['genarch']:.0f} seq/s, bare "
                  f"{report['median_seq_per_s']['bare']:.0f} seq/s, ratio {report['ratio_genarch_over_bare']:.3f}, "
                  f"GPU util {report['gpu_utilisation_pct']}, bare x{report['speedup_at_4x_batch']:.2f} at 4x batch",
                  flush=True)
    return out


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def main(argv: Optional[list[str]] = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--n", type=int, default=0, help="sequences per epoch (0: 20,000 on CPU, per model on GPU)")
    parser.add_argument("--rounds", type=int, default=0, help="paired rounds (0: 5 on CPU, 3 on GPU)")
    parser.add_argument("--batch-size", type=int, default=125, help="CPU mode; the GPU cases fix their own")
    parser.add_argument("--threads", type=int, default=0, help="torch threads on CPU (0: every core)")
    parser.add_argument("--models", nargs="+", choices=sorted(GPU_CASES), default=list(GPU_CASES))
    parser.add_argument("--precisions", nargs="+", choices=("32", "bf16-mixed", "16-mixed"),
                        default=["32", "bf16-mixed"])
    parser.add_argument("--matmul-precision", default="high", choices=("highest", "high", "medium"))
    parser.add_argument("--compile", action="store_true", help="torch.compile the network (both loops)")
    parser.add_argument("--no-deterministic", dest="deterministic", action="store_false",
                        help="both loops without torch's deterministic algorithms (genarch's default is with)")
    parser.add_argument("--out", default=None, help="the JSON file (default: in --results-dir)")
    parser.add_argument("--results-dir", default=str(RESULTS))
    args = parser.parse_args(argv)
    gpu = args.device == "cuda"
    args.rounds = args.rounds or (3 if gpu else 5)
    if not gpu:
        args.n = args.n or 20000
    command = "python -m experiments.bench_throughput " + " ".join(map(shlex.quote, argv or sys.argv[1:]))

    def save(report: dict[str, Any]) -> Path:
        name = f"throughput_gpu_{slug(report['device_name'])}.json" if gpu else "throughput.json"
        out = Path(args.out) if args.out else Path(args.results_dir) / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**report, "command": command}, indent=2) + "\n")
        return out

    report = run_gpu(args, save) if gpu else run_cpu(args)
    out = save(report)
    if not gpu:
        print(f"median: genarch {report['median_seq_per_s']['genarch']:.0f} seq/s, bare loop "
              f"{report['median_seq_per_s']['bare']:.0f} seq/s, median paired ratio "
              f"{report['ratio_genarch_over_bare']:.3f} "
              f"(target >= {TARGET['cpu']}); per round {[round(r, 3) for r in report['paired_ratios']]}")
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
