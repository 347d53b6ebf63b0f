"""Re-analyse every stage of finished staged runs with today's code and compare each suggestion with
the one that was applied. Identical suggestions mean the runs replay exactly (every sweep is seeded and
runs the stage file it was given), so they stand for the current code without being re-run.

    python -m experiments.efficiency.recheck_suggestions experiments/runs/efficiency/surrogate_b150_st25/staged

Prints one line per stage (``seed stage same|DIFFERENT``) and the count of differences; exit status 1
if any differ. Only the params block is compared (comments carry evidence numbers that may be rounded
differently).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from experiments.efficiency.efficiency import (
    METHODS, STAGE, STAGE_CONF, analyse_stage, applied_suggestions, followed_suggestion, seed_dirs, stage_name,
)

STAGE1 = STAGE_CONF / "stage" / f"{STAGE}.yaml"


def params(path: "Path | None") -> "dict | None":
    return yaml.safe_load(path.read_text())["hydra"]["sweeper"]["params"] if path and path.exists() else None


def recheck_seed(seed: int, seed_dir: Path, out: Path, pool: bool) -> list[tuple[int, bool]]:
    stage_file, rows = STAGE1, []
    for i, old in applied_suggestions(seed_dir):
        dest = out / f"{seed}_{i}"
        pooled = [f"--pool={seed_dir / f'stage{j}'}" for j in range(1, i)] if pool else []
        analyse_stage([str(seed_dir / f"stage{i}"), "--stage", str(stage_file), *pooled, "--out", str(dest)])
        rows.append((i, params(followed_suggestion(dest)) == params(old)))
        nxt = seed_dir / "conf" / "stage" / f"{stage_name(seed, i + 1)}.yaml"
        if nxt.exists():
            stage_file = nxt
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("method_dir", type=Path, help="a staged method's folder (holds seed*/); named staged_pooled, "
                                                  "its analyses pool the earlier stages as the run did")
    args = ap.parse_args()
    pool = METHODS.get(args.method_dir.name, (True, None, False))[2]
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed, seed_dir in seed_dirs(args.method_dir):
            for stage, same in recheck_seed(seed, seed_dir, Path(tmp), pool):
                differences += not same
                print(seed, stage, "same" if same else "DIFFERENT", flush=True)
    print(f"differences: {differences}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
