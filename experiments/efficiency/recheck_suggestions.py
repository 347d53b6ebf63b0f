"""Re-analyse every stage of finished staged runs with today's code and compare each suggestion with
the one that was applied. Identical suggestions mean the runs replay exactly (every sweep is seeded and
runs the stage file it was given), so they stand for the current code without being re-run.

    python experiments/efficiency/recheck_suggestions.py experiments/runs/efficiency/surrogate_b150_st25/staged

Prints one line per stage (``seed stage same|DIFFERENT``) and the count of differences; exit status 1
if any differ. Only the params block is compared (comments carry evidence numbers that may be rounded
differently).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
STAGE1 = ROOT / "experiments" / "efficiency" / "conf" / "stage" / "eff_tfbs.yaml"


def params(path: "Path | None") -> "dict | None":
    return yaml.safe_load(path.read_text())["hydra"]["sweeper"]["params"] if path and path.exists() else None


def recheck_seed(seed_dir: Path, out: Path) -> list[tuple[int, bool]]:
    seed = int(seed_dir.name[4:])
    stage_file, rows = STAGE1, []
    applied = sorted(seed_dir.glob("suggestion_after_stage*.yaml"), key=lambda p: int(p.stem.rsplit("stage", 1)[1]))
    for old in applied:
        i = int(old.stem.rsplit("stage", 1)[1])
        dest = out / f"{seed}_{i}"
        subprocess.run([sys.executable, "-m", "genarch.analyze", str(seed_dir / f"stage{i}"), "--stage", str(stage_file),
                        "--out", str(dest), "--quiet", "--no-html", "--no-plots"], cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        new = dest / "next_stage.yaml"
        if not new.exists():
            new = next(iter(sorted(dest.glob("next_stage_*.yaml"))), None)  # a fork: the first branch was followed
        rows.append((i, params(new) == params(old)))
        nxt = seed_dir / "conf" / "stage" / f"eff_s{seed}_{i + 1}.yaml"
        if nxt.exists():
            stage_file = nxt
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("method_dir", type=Path, help="a staged method's folder (holds seed*/)")
    args = ap.parse_args()
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed_dir in sorted((p for p in args.method_dir.glob("seed*") if p.is_dir()), key=lambda p: int(p.name[4:])):
            for stage, same in recheck_seed(seed_dir, Path(tmp)):
                differences += not same
                print(seed_dir.name[4:], stage, "same" if same else "DIFFERENT", flush=True)
    print(f"differences: {differences}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
