"""Interpretation of the TFBS head-to-head models: attention maps + JASPAR matches per experiment.

    python -m experiments.tfbs.interpret_found                         # tfbs_found, seed 0, all 13 experiments
    python -m experiments.tfbs.interpret_found --models tfbs_found attentionnet
    python -m experiments.tfbs.interpret_found --models tfbs_found attentionnet --seed 1
    python -m experiments.tfbs.interpret_found --aggregate-only

Reads the trained runs of experiments/tfbs/head_to_head.py (``experiments/runs/tfbs_h2h/<protocol>/
<model>/<experiment>/seed<k>/``, model.pt kept) and runs ``genarch.interpret`` on each (the same
pipeline as ``python -m genarch.interpret <run_dir>``: attention maps when the model has attention
pooling, otherwise its attribution fallback; PFM of the top-100 test positives' peak windows, the
aligned PFM, the top-3 recurring k-mers; TOMTOM against JASPAR CORE vertebrates). The per-experiment
scoring (is the best q < 0.05 match the ChIP'd TF / its family) is experiments/interpret_encode.py's
``evaluate``. Interpretation output goes to ``<run dir>/interpret/``; a run already interpreted is
skipped. Outputs: experiments/results/tfbs_interpret.{json,md} for seed 0,
experiments/results/tfbs_interpret_seed<k>.{json,md} for seed k.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Optional

from experiments.tables import RESULTS, RUNS, fmt, md_table, read_ok, write_json

ROOT = Path(__file__).resolve().parents[2]

Q_THRESHOLD = 0.05  # the cached experiment_eval.json files were scored at this threshold (the paper's is 0.5:
#                    experiments/interpret_encode.py)
EXPERIMENTS = [
    "ARID3A_HepG2", "ARID3A_K562", "CTCFL_K562", "ELK1_GM12878", "FOXA1_HepG2", "FOXM1_GM12878",
    "GABPA_GM12878", "GATA3_SH-SY5Y", "MYC_H1-hESC", "REST_GM12878", "SP1_GM12878", "USF1_HepG2",
    "ZBTB7A_HepG2",
]
FLAGS = ("pfm", "pfm_or_kmers", "aligned", "pfm_family", "pfm_or_kmers_family", "aligned_family")


def current_run(run_dir: Path, model: str) -> Optional[dict]:
    """The head-to-head run's result.json when it was trained with today's contender ``model`` (its cell.json
    starts with head_to_head.contender(model) and its config hash matches), else None."""
    from experiments.grid import read_current, recorded_overrides
    from experiments.tfbs.head_to_head import contender

    overrides, wanted = recorded_overrides(run_dir), contender(model)
    if overrides is None or overrides[:len(wanted)] != wanted:
        return None
    return read_current(run_dir, overrides)


def interpret_one(run_dir: Path, experiment: str, release: str, core, threads: int) -> dict:
    cached = run_dir / "interpret" / "experiment_eval.json"
    if cached.exists():
        return json.loads(cached.read_text())
    from genarch.interpret.numba_cache import ensure_numba_cache_dir

    ensure_numba_cache_dir()
    from experiments.interpret_encode import evaluate

    from genarch.interpret.pipeline import InterpretConfig, interpret_run
    from genarch.interpret.tfnames import tf_from_experiment

    res = read_ok(run_dir)
    full = res["hparams"].get("dataset.experiment", experiment)
    tf = tf_from_experiment(full)
    t0 = time.perf_counter()
    report = interpret_run(run_dir, InterpretConfig(top_n=100, k=10, release=release, tax_group="vertebrates", tf=tf,
                                                    out_dir=str(run_dir / "interpret"), n_jobs=threads),
                           targets=core)
    ev = evaluate(report, tf, core, Q_THRESHOLD)
    ev.update({"experiment": experiment, "tf": tf, "release": release, "seconds": round(time.perf_counter() - t0, 1),
               "method": getattr(report, "method", None),
               "test_auroc": res["metrics"]["test"]["auroc"]})
    cached.write_text(json.dumps(ev, indent=1, default=str))
    return ev


def output_stem(seed: int) -> str:
    """Results file name: seed 0 (the first one run) keeps the plain name, other seeds get their own."""
    return "tfbs_interpret" if seed == 0 else f"tfbs_interpret_seed{seed}"


def command(args) -> str:
    parts = ["python -m experiments.tfbs.interpret_found", "--models", *args.models]
    if args.seed:
        parts += ["--seed", str(args.seed)]
    if args.protocol != "mt4000_default_ep10":
        parts += ["--protocol", args.protocol]
    return " ".join(parts)


def aggregate(args) -> dict:
    rows = {}
    for model in args.models:
        for e in EXPERIMENTS:
            f = (RUNS / "tfbs_h2h" / args.protocol / model / e / f"seed{args.seed}" / "interpret"
                 / "experiment_eval.json")
            if f.exists() and current_run(f.parents[1], model):  # never an older preset's network under this row
                row = json.loads(f.read_text())
                index = f.parent / "index.json"
                if not row.get("method") and index.exists():
                    row["method"] = json.loads(index.read_text()).get("method")
                rows.setdefault(model, {})[e] = row
    counts = {m: {k: sum(bool(r.get(k)) for r in per.values()) for k in FLAGS} | {"n": len(per)}
              for m, per in rows.items()}
    out = {"protocol": args.protocol, "seed": args.seed, "release": args.release, "counts": counts, "rows": rows,
           "paper": {"experiments": 57, "pfm": 30, "pfm_or_kmers": 42}}
    stem = output_stem(args.seed)
    write_json(RESULTS / f"{stem}.json", out)
    lines = ["# Interpretation of the head-to-head models (DeepBind ENCODE)", "",
             f"Runs: `experiments/runs/tfbs_h2h/{args.protocol}/<model>/<experiment>/seed{args.seed}`; TOMTOM vs "
             f"{args.release} CORE vertebrates, q < 0.05; motifs from the top-100 test positives, k = 10. Command: "
             f"`{command(args)}` (`--aggregate-only` to rebuild).", "",
             md_table(["model", "experiments", "PFM best = TF", "PFM or k-mers = TF", "aligned PFM = TF",
                       "PFM = TF/family", "PFM or k-mers = TF/family", "aligned = TF/family"],
                      [[m, c["n"]] + [f"{c[k]} / {c['n']}" for k in FLAGS] for m, c in counts.items()]), "",
             "Paper (57 experiments): PFM 30/57, PFM or top-3 k-mers 42/57.", ""]
    for m, per in rows.items():
        lines += [f"## {m}", ""]
        body = []
        for e, r in per.items():
            b = r.get("best", {})
            cell = lambda k: (f"{b[k]['consensus']}: {b[k]['target']} (q {b[k]['q']:.2g}, {b[k]['level']})"  # noqa: E731
                              if k in b else "-")
            flags = ", ".join(k for k in ("pfm", "aligned", "pfm_or_kmers") if r.get(k)) or "no"
            body.append([e, r.get("tf"), fmt(r.get("test_auroc")), r.get("method") or "-", cell("pfm"),
                         cell("pfm_aligned"), cell("kmer1"), flags])
        lines += [md_table(["experiment", "TF", "test AUROC", "map", "PFM best match", "aligned PFM", "k-mer 1",
                            "best = TF"], body), ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["tfbs_found"])
    ap.add_argument("--protocol", default="mt4000_default_ep10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--release", default="JASPAR2026")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--aggregate-only", action="store_true")
    args = ap.parse_args()
    if not args.aggregate_only:
        from genarch.jaspar import load_core

        core = list(load_core(args.release, "vertebrates"))
        for model in args.models:
            for e in EXPERIMENTS:
                rd = RUNS / "tfbs_h2h" / args.protocol / model / e / f"seed{args.seed}"
                if not current_run(rd, model) or not (rd / "model.pt").exists():
                    print(f"{model} {e}: no run trained with today's {model} yet ({rd})", flush=True)
                    continue
                try:
                    ev = interpret_one(rd, e, args.release, core, args.threads)
                    print(f"{model} {e}: pfm={ev['pfm']} aligned={ev['aligned']} pfm_or_kmers={ev['pfm_or_kmers']}",
                          flush=True)
                except Exception as err:  # noqa: BLE001 - one failure is reported, the rest still run
                    print(f"{model} {e}: interpretation failed: {type(err).__name__}: {err}", flush=True)
                aggregate(args)
    aggregate(args)


if __name__ == "__main__":
    main()
