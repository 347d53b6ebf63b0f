"""Per-trial overhead of the genarch sweeper on Hydra's basic launcher, beside Hydra's BasicSweeper.

A tiny Hydra app whose task returns a number at once is swept twice over the same trials:

  genarch   the nevergrad sweeper (ask/tell, cache, ledger start/end records, results files)
  basic     Hydra's BasicSweeper over the very candidates the genarch sweep chose (a comma list)

Each is run for a small and a large number of trials in fresh processes; the per-trial overhead is
the slope (wall(large) - wall(small)) / (large - small), so process start-up and imports cancel out.
Everything a trial costs besides the task is in it: composing the job config, the launcher's job
directory and .hydra files, logging, and for genarch the optimizer and the ledger.

    python -m experiments.bench_sweeper_overhead [--trials 200] [--small 20] [--repeats 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = '''
import hydra

@hydra.main(version_base="1.3", config_path=".", config_name="bench")
def main(cfg):
    x, y = cfg.pair if "pair" in cfg else (cfg.x, cfg.y)
    return float(x) ** 2 + float(y) ** 0.5

if __name__ == "__main__":
    main()
'''

CONFIG = '''
defaults:
  - _self_
x: 0.0
y: 0
hydra:
  searchpath: [pkg://genarch.conf]
  job: {chdir: false}
'''


def run(app: Path, sweep_dir: Path, args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(app), f"hydra.sweep.dir={sweep_dir}", *args, "-m"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return wall


def genarch_args(n: int, workers: int) -> list[str]:
    return ["hydra/sweeper=genarch", f"hydra.sweeper.budget={n}", f"hydra.sweeper.num_workers={workers}",
            "hydra.sweeper.optimizer=NGOpt", "hydra.sweeper.direction=minimize", "hydra.sweeper.validate=false",
            "x=interval(-3,3)", "y=interval(0,50)"]


def chosen(sweep_dir: Path) -> list[tuple[float, int]]:
    from genarch.ledger import load_trials

    return [(t.params["x"], t.params["y"]) for t in load_trials(sweep_dir)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="hydra.sweeper.num_workers (batch size)")
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="genarch-bench-") as tmp:
        tmp = Path(tmp)
        app = tmp / "bench_app.py"
        app.write_text(APP)
        (tmp / "bench.yaml").write_text(CONFIG)
        walls: dict[str, dict[int, list[float]]] = {"genarch": {}, "basic": {}}
        for rep in range(opts.repeats):
            for n in (opts.small, opts.trials):
                sweep = tmp / f"g{rep}_{n}"
                walls["genarch"].setdefault(n, []).append(run(app, sweep, genarch_args(n, opts.workers)))
                trials = chosen(sweep)
                # a converged optimizer may stop a sweep early (max_repeated_asks): compare same counts
                assert len(trials) == n, f"the genarch sweep ran {len(trials)} trials, not {n}: {sweep}"
                # the same n trials under BasicSweeper: two comma lists would make a grid, so the
                # (x, y) pairs go in as one comma list of 2-element lists (the task reads `pair`)
                pairs = ",".join(f"[{x!r},{y}]" for x, y in trials)
                walls["basic"].setdefault(n, []).append(run(app, tmp / f"b{rep}_{n}", [f"+pair={pairs}"]))
        report = {"trials_small": opts.small, "trials_large": opts.trials, "repeats": opts.repeats,
                  "num_workers": opts.workers}
        for name, by_n in walls.items():
            small, large = statistics.median(by_n[opts.small]), statistics.median(by_n[opts.trials])
            report[name] = {"wall_small_s": round(small, 3), "wall_large_s": round(large, 3),
                            "per_trial_s": round((large - small) / (opts.trials - opts.small), 4)}
        report["sweeper_minus_basic_per_trial_s"] = round(report["genarch"]["per_trial_s"]
                                                          - report["basic"]["per_trial_s"], 4)
        print(json.dumps(report, indent=2))
        print(f"genarch sweeper: {report['genarch']['per_trial_s'] * 1000:.1f} ms per trial "
              f"(BasicSweeper over the same trials: {report['basic']['per_trial_s'] * 1000:.1f} ms; "
              f"limit 200 ms)")
        if report["genarch"]["per_trial_s"] > 0.2:
            raise SystemExit("per-trial overhead over 0.2 s")


if __name__ == "__main__":
    main()
