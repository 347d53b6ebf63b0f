"""Training throughput of model=attentionnet on 101-bp inputs: genarch (Lightning module, batcher,
trainer settings of a real run) against a bare PyTorch loop over the same model, side by side in one
process, alternating so machine noise hits both alike.

    python experiments/bench_throughput.py                 # 20,000 sequences, 5 rounds
    python experiments/bench_throughput.py --n 8000 --rounds 2
    python experiments/bench_throughput.py --threads 1        # beside another job on a 2-core machine

Prints sequences/second of each and the ratio genarch / bare (target >= 0.85), and writes
experiments/results/throughput.json.
"""

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from genarch.data.base import ArraySplit
from genarch.model import GenomicNet
from genarch.training.batches import make_loader
from genarch.training.module import SequenceModule
from genarch.training.threads import apply_threads, available_cores

ROOT = Path(__file__).resolve().parents[1]


def random_split(n: int, length: int, seed: int) -> ArraySplit:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    x = (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.uint8)
    return ArraySplit(x, rng.integers(0, 2, size=(n, 1)).astype(np.float32))


class EpochTimer(pl.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def genarch_epoch(model_cfg, optimizer_cfg, split: ArraySplit, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    net = GenomicNet(model_cfg, split.x.shape[2], 1)
    module = SequenceModule(net, "binary", optimizer_cfg, ["y"])
    timer = EpochTimer()
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, callbacks=[timer], logger=False,
                         enable_checkpointing=False, enable_model_summary=False, enable_progress_bar=False,
                         deterministic=True, num_sanity_val_steps=0, limit_val_batches=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, make_loader(split, batch_size, True, seed))
    return len(split) / timer.seconds


def bare_epoch(model_cfg, optimizer_cfg, split: ArraySplit, batch_size: int, seed: int) -> float:
    torch.manual_seed(seed)
    net = GenomicNet(model_cfg, split.x.shape[2], 1).train()
    opt = torch.optim.Adam(net.parameters(), lr=optimizer_cfg["base_lr"] * optimizer_cfg["lr_scale"])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x_all, y_all = torch.from_numpy(split.x), torch.from_numpy(split.y)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for index in torch.randperm(len(split), generator=generator).split(batch_size):
        x = x_all[index].float()
        loss = loss_fn(net(x), y_all[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return len(split) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=125)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "throughput.json"))
    args = parser.parse_args()

    apply_threads(args.threads or available_cores())
    with initialize_config_dir(config_dir=str(ROOT / "genarch" / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["model=attentionnet"])
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    optimizer_cfg = OmegaConf.to_container(cfg.optimizer, resolve=True)
    split = random_split(args.n, 101, 0)

    bare_epoch(model_cfg, optimizer_cfg, split.subset(np.arange(1000)), args.batch_size, 0)  # warm-up
    genarch_epoch(model_cfg, optimizer_cfg, split.subset(np.arange(1000)), args.batch_size, 0)
    rates = {"genarch": [], "bare": []}
    for round_ in range(args.rounds):
        order = ("genarch", "bare") if round_ % 2 == 0 else ("bare", "genarch")
        for name in order:
            fn = genarch_epoch if name == "genarch" else bare_epoch
            rates[name].append(fn(model_cfg, optimizer_cfg, split, args.batch_size, round_))
            print(f"round {round_ + 1} {name:8s} {rates[name][-1]:9.0f} seq/s", flush=True)
    median = {k: statistics.median(v) for k, v in rates.items()}
    # each round measures both back to back: the per-round ratio cancels slow drifts of the machine
    paired = [g / b for g, b in zip(rates["genarch"], rates["bare"])]
    ratio = statistics.median(paired)
    report = {"model": "attentionnet", "length": 101, "n": args.n, "batch_size": args.batch_size,
              "threads": torch.get_num_threads(), "rounds": args.rounds, "seq_per_s": rates,
              "median_seq_per_s": median, "paired_ratios": paired, "ratio_genarch_over_bare": ratio, "target": 0.85}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"median: genarch {median['genarch']:.0f} seq/s, bare loop {median['bare']:.0f} seq/s, "
          f"median paired ratio {ratio:.3f} (target >= 0.85); per round {[round(r, 3) for r in paired]}")


if __name__ == "__main__":
    main()
