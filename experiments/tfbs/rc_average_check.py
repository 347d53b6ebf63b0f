"""Does reading both strands help networks that were trained on one? A check on trained head-to-head runs.

    python -m experiments.tfbs.rc_average_check [--runs 'experiments/runs/tfbs_h2h/full/*/*/seed1']

For every trained run folder the glob matches (model.pt and .hydra/config.yaml), the B-file test AUROC of the
network as trained, and of the same network with its outputs on each sequence and on its reverse complement
averaged (``genarch.predict.score(..., rc_average=True)``, what ``python -m genarch.predict --rc-average``
does). No training: inference only, a few seconds per run on 2 cores. It is the measurement behind
``model.strands`` (genarch/model/builder.py) and the TFBS stage tfbs_mf_5 that sweeps it.
Run folders are git-ignored: the check reads the runs this machine holds. Outputs:
experiments/results/tfbs_search/rc_average_check.{json,md}.
"""

import argparse
import glob
import json
import statistics
from pathlib import Path

import numpy as np

from experiments.tables import RESULTS, ROOT, fmt, md_table, write_json

OUT = RESULTS / "tfbs_search" / "rc_average_check"
DEFAULT_RUNS = "experiments/runs/tfbs_h2h/full/*/*/seed1"


def check_run(run_dir: Path, bundles: dict) -> dict:
    """Test AUROC of one trained run, given strand only and both strands averaged."""
    from omegaconf import OmegaConf
    from sklearn.metrics import roc_auc_score

    from genarch.data import load_dataset
    from genarch.predict import load_run, score

    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    experiment = str(cfg.dataset.experiment)
    if experiment not in bundles:
        bundles.clear()  # one experiment's data at a time: main() sorts the runs by experiment
        bundles[experiment] = load_dataset(cfg.dataset)
    test = bundles[experiment].test
    run, y = load_run(run_dir), np.asarray(test.y).reshape(-1)
    given = float(roc_auc_score(y, score(run, test.x)[:, 0]))
    both = float(roc_auc_score(y, score(run, test.x, rc_average=True)[:, 0]))
    return {"run": str(run_dir.relative_to(ROOT)), "experiment": experiment, "given_strand": given,
            "both_strands": both, "gain": both - given}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default=DEFAULT_RUNS, help="glob of trained run folders, relative to the repository")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    matched = [Path(p) for p in glob.glob(str(ROOT / args.runs)) if Path(p).is_dir()]
    dirs = sorted((p for p in matched if (p / "model.pt").exists()), key=lambda p: (p.parent.name, str(p)))
    untrained = sorted(str(p.relative_to(ROOT)) for p in matched if not (p / "model.pt").exists())
    if not dirs:
        raise SystemExit(f"--runs {args.runs}: no trained run folder (model.pt) matches on this machine")
    bundles: dict = {}
    rows = []
    for d in dirs:
        rows.append(check_run(d, bundles))
        print(f"{rows[-1]['run']}: {rows[-1]['given_strand']:.4f} -> {rows[-1]['both_strands']:.4f}", flush=True)
    gains = [r["gain"] for r in rows]
    summary = {"runs": len(rows), "improved": sum(g > 0 for g in gains), "mean_gain": statistics.mean(gains),
               "min_gain": min(gains), "max_gain": max(gains)}
    command = f"python -m experiments.tfbs.rc_average_check --runs '{args.runs}'"
    write_json(OUT.with_suffix(".json"), {"command": command, "summary": summary, "rows": rows,
                                          "matched_without_model": untrained})
    table = md_table(["run", "given strand", "both strands", "gain"],
                     [[r["run"].split("full/")[-1], fmt(r["given_strand"], 4), fmt(r["both_strands"], 4),
                       f"{r['gain']:+.4f}"] for r in rows])
    OUT.with_suffix(".md").write_text(
        "# Both strands at prediction, on networks trained on one\n\n"
        f"`{command}` (inference only, CPU). Test AUROC on "
        "each experiment's B file, the network as trained and with its outputs on a sequence and its reverse "
        "complement averaged.\n\n"
        f"Improved in {summary['improved']} of {summary['runs']} runs; gain mean {summary['mean_gain']:+.4f}, "
        f"range {summary['min_gain']:+.4f} to {summary['max_gain']:+.4f}."
        + (f" Left out, matched but with no trained model.pt (a run not finished): {', '.join(untrained)}."
           if untrained else "") + "\n\n" + table + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
