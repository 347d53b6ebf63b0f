"""Subnormal weights on the CPU: training-step time of a trained network with subnormals computed as they are
against flushed to zero (genarch.training.subnormals), alternating in one process so machine noise hits both.

    python -m experiments.bench_subnormals RUN/checkpoints/last.ckpt [MORE.ckpt ...] [--out results/subnormals.json]

Reads each genarch checkpoint (its network and weights), counts the weights that are subnormal (non-zero, below
float32's smallest normal 1.2e-38), and times forward + backward on a random batch of one-hot sequences
(``--batch``, default 25: tfbs_found's) with the CPU's flush-to-zero mode off and on, ``--rounds`` times each.
Prints the per-round times and the median paired ratio off / on per checkpoint; ``--out`` writes them as JSON
with the command.
"""

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genarch.training.checkpoints import load_net_from_ckpt
from genarch.training.devices import device_name


def subnormal_share(net: torch.nn.Module) -> dict[str, float]:
    """Per tensor of the state dict (weights and BatchNorm buffers) with any subnormal entry: the share of its
    entries that are subnormal."""
    tiny = torch.finfo(torch.float32).tiny
    shares = {}
    for name, value in net.state_dict().items():
        if value.dtype.is_floating_point and value.numel():
            count = int(((value != 0) & (value.abs() < tiny)).sum())
            if count:
                shares[name] = count / value.numel()
    return shares


def step_seconds(net: torch.nn.Module, x: torch.Tensor, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        net.zero_grad(set_to_none=True)
        net(x).sum().backward()
    return (time.perf_counter() - start) / steps


def measure(checkpoint: Path, batch: int, steps: int, rounds: int) -> dict:
    net, spec = load_net_from_ckpt(checkpoint)
    torch.set_flush_denormal(False)  # with it on, a subnormal compares as zero: count them with it off
    shares = subnormal_share(net)
    net.train()
    codes = np.random.default_rng(0).integers(0, 4, size=(batch, int(spec["seq_len"])))
    x = torch.nn.functional.one_hot(torch.from_numpy(codes), 4).transpose(1, 2).float().contiguous()
    step_seconds(net, x, 2)  # warm-up
    timings = []
    for i in range(rounds):
        torch.set_flush_denormal(False)
        off = step_seconds(net, x, steps)
        torch.set_flush_denormal(True)
        on = step_seconds(net, x, steps)
        timings.append({"off_ms": 1000 * off, "on_ms": 1000 * on, "ratio": off / on})
        print(f"round {i}: subnormals computed {1000 * off:.1f} ms/step, flushed {1000 * on:.1f} ms/step, "
              f"ratio {off / on:.2f}")
    median = statistics.median(r["ratio"] for r in timings)
    worst = max(shares.values()) if shares else 0.0
    print(f"{checkpoint}: {len(shares)} tensors (weights, BatchNorm buffers) hold subnormals "
          f"(at most {worst:.1%} of one); median ratio {median:.2f}")
    return {"checkpoint": str(checkpoint), "epoch": spec.get("best_epoch"), "subnormal_share": shares,
            "rounds": timings, "median_ratio": median}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--steps", type=int, default=20, help="training steps per timing")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {"command": "python -m experiments.bench_subnormals " + shlex.join(sys.argv[1:] if argv is None else argv),
              "device": device_name("cpu"), "threads": args.threads, "batch": args.batch, "steps": args.steps,
              "runs": [measure(c, args.batch, args.steps, args.rounds) for c in args.checkpoints]}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
