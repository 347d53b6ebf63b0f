"""How many attention-derived motifs match the ChIP'd TF on the DeepBind ENCODE experiments, by the paper's
own method (Genetic Architect, Sec. 4.1; the figures and the method are read from
../shared/paper/genetic_architect_facts.yaml: 30 of 57 TFs exact, 42 of 57 with the top-3 recurring sequences).

For every experiment with a training file whose TF has a JASPAR CORE entry, take Table 3's AttentionNet
(``+experiment=attentionnet_paper``) trained under the head-to-head's ``full`` protocol (every training
sequence, early stopping with patience 5, at most 100 epochs, the best epoch's weights): the
head-to-head's own run of that experiment and seed when it exists (experiments/runs/tfbs_h2h/full/
attentionnet/<experiment>/seed<k>/), otherwise trained here in-process with genarch's Python API under the
same protocol. Interpret it with ``genarch.interpret`` on the held-out B file and count experiments whose
motif's best TOMTOM match (q below the paper's threshold, 0.5) is the ChIP'd TF, its JASPAR family, or
(looser) among the top 3 matches:

* ``pfm``: the paper's PFM (10 nt around the attention peak of the top-100 test positives, averaged);
* ``pfm_or_kmers``: the PFM or any of the top-3 recurring 10-mers (the paper's second count);
* ``aligned``: genarch's strand/shift-aligned PFM of the same windows.

    python -m experiments.interpret_encode                       # all trainable experiments, seed 0
    python -m experiments.interpret_encode --experiments SP1 USF1 --seed 1
    python -m experiments.interpret_encode --experiments CTCFL --debug-max-train 400 --no-plots   # smoke
    python -m experiments.interpret_encode --model model=attentionnet_small --max-train 16000 --epochs 8 \
        --patience 3 --q 0.05 --out experiments/results/interpret_encode      # the earlier, small-data table

Writes experiments/results/interpret_encode_full.json and .md (updated after every experiment; rows of
experiments not named now, made with the same settings, are kept, so runs add up to one table); run
directories go to experiments/runs/interpret_encode/<protocol>/<experiment>/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from genarch.interpret.numba_cache import ensure_numba_cache_dir  # noqa: E402

ensure_numba_cache_dir()

from experiments import paper_facts  # noqa: E402
from genarch.jaspar import DEFAULT_RELEASE  # noqa: E402

H2H_RUNS = ROOT / "experiments" / "runs" / "tfbs_h2h"


def paper_counts() -> dict:
    """The paper's counts (Sec. 4.1) from the facts file."""
    m = paper_facts.motifs()
    return {"experiments": m["checkable"], "pfm": m["correct"],
            "pfm_or_kmers": m["correct_with_top3_recurring_sequences"],
            "any_tf": m["any_tf"], "q_threshold": m["q_threshold"], "method": m["method"]}


def protocol_name(args) -> str:
    if args.max_train is None and args.epochs == 100 and args.patience == 5:
        name = "full"
    else:
        name = f"mt{args.max_train}_ep{args.epochs}_p{args.patience}"
    return name + (f"_debug{args.debug_max_train}" if args.debug_max_train else "")


def head_to_head_run(experiment: str, args) -> "Path | None":
    """The TFBS head-to-head's run of this model, experiment and seed under the same protocol, if it is done."""
    if args.model != "+experiment=attentionnet_paper":
        return None
    # the head-to-head names an experiment by its short prefix (CTCFL_K562), the data by its full file name
    base = H2H_RUNS / protocol_name(args) / "attentionnet"
    prefixes = [d.name for d in base.iterdir() if experiment == d.name or experiment.startswith(d.name + "_")] \
        if base.is_dir() else []
    for prefix in prefixes:
        run = base / prefix / f"seed{args.seed}"
        try:
            ok = json.loads((run / "result.json").read_text()).get("status") == "ok"
        except (OSError, ValueError):
            continue
        if ok and (run / "model.pt").exists():
            return run
    return None


def trainable_experiments(data_root: Path) -> list[str]:
    from genarch.data.sources import deepbind_experiments

    return sorted(e for e, f in deepbind_experiments(data_root / "tfbs" / "deepbind_encode").items() if f["train"])


def run_one(experiment: str, args, cores: dict) -> dict:
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from genarch.app import quiet_libraries
    from genarch.data import load_dataset
    from genarch.interpret.pipeline import InterpretConfig, interpret_run
    from genarch.interpret.tfnames import motifs_of_tf, tf_from_experiment
    from genarch.training.runner import train

    tf = tf_from_experiment(experiment)
    own = motifs_of_tf(tf, next(iter(cores.values())))  # the headline (first) release decides inclusion
    row = {"experiment": experiment, "tf": tf, "jaspar_ids": [m.matrix_id for m in own]}
    if not own:
        row["status"] = "no JASPAR entry"
        return row
    quiet_libraries()
    work_dir = Path(args.runs) / protocol_name(args) / experiment
    source = head_to_head_run(experiment, args)
    run_dir = source or work_dir
    max_train = args.debug_max_train or args.max_train
    overrides = [args.model, "dataset=deepbind_encode", f"dataset.experiment='{experiment}'",
                 f"dataset.max_train={'null' if max_train is None else max_train}",
                 f"dataset.data_root={args.data_root}", f"trainer.max_epochs={args.epochs}",
                 f"trainer.patience={args.patience}", "trainer.progress=false", f"trainer.threads={args.threads}",
                 f"seed={args.seed}"]
    if source is None:
        (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
        with initialize_config_module("genarch.conf", version_base="1.3"):
            cfg = compose("config", overrides=overrides)
        OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    else:
        cfg = OmegaConf.load(source / ".hydra" / "config.yaml")
    row["model_run"] = str(run_dir.relative_to(ROOT)) if run_dir.is_relative_to(ROOT) else str(run_dir)
    t0 = time.perf_counter()
    bundle = load_dataset(cfg.dataset)
    if source is not None or (args.reuse and (run_dir / "model.pt").exists() and (run_dir / "result.json").exists()):
        metrics = json.loads((run_dir / "result.json").read_text())
        auroc, epochs = metrics.get("metrics", {}).get("test", {}).get("auroc"), metrics.get("epochs")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = train(cfg, run_dir, bundle=bundle)
        result.write(run_dir)
        auroc, epochs = result.metrics.get("test", {}).get("auroc"), result.epochs
    t1 = time.perf_counter()
    row.update({"status": "ok", "test_auroc": auroc, "epochs": epochs, "n_train": len(bundle.train),
                "train_s": round(t1 - t0, 1), "by_release": {}})
    for n_release, (release, core) in enumerate(cores.items()):
        out_dir = work_dir / ("interpret" if n_release == 0 else f"interpret_{release}")
        report = interpret_run(run_dir, InterpretConfig(top_n=args.top_n, k=args.k, release=release,
                                                        tax_group=args.tax_group, tf=tf, out_dir=str(out_dir),
                                                        plots=not args.no_plots and n_release == 0,
                                                        logos=n_release == 0, n_jobs=args.threads),
                               bundle=bundle, targets=core)
        row["by_release"][release] = evaluate(report, tf, core, args.q)
        row["by_release"][release]["interpret_dir"] = str(out_dir.relative_to(ROOT)) if out_dir.is_relative_to(ROOT) \
            else str(out_dir)
    row["interpret_s"] = round(time.perf_counter() - t1, 1)
    return row


def evaluate(report, tf: str, core, q_threshold: float) -> dict:
    """Flags for one release: is the ChIP'd TF the best match (q < q_threshold) of the PFM / a k-mer / the
    aligned PFM."""
    from genarch.interpret.tfnames import motifs_of_tf

    out = report.outputs[0]
    best = {m.query.split(":")[-1]: m for m in out.matches if m.rank == 1}
    motifs = {x.name.split(":")[-1]: x for x in out.motif_set.motifs()}

    def ok(m, levels=("tf",)):
        return bool(m is not None and m.q_value < q_threshold and m.level in levels)

    kmers = [best.get(f"kmer{i}") for i in (1, 2, 3)]
    top3: dict[str, list] = {}
    for m in out.matches:  # looser: the ChIP'd TF among the top-3 matches (q < q_threshold)
        top3.setdefault(m.query.split(":")[-1], []).append(m)
    in_top3 = lambda key: any(ok(m) for m in top3.get(key, []))  # noqa: E731
    return {
        "tf_in_release": bool(motifs_of_tf(tf, core)),
        "best": {k: {"target": f"{m.target_id} {m.target_name}", "q": m.q_value, "level": m.level,
                     "consensus": motifs[k].meta.get("kmer", motifs[k].consensus)} for k, m in best.items()},
        "pfm": ok(best.get("pfm")),
        "pfm_or_kmers": ok(best.get("pfm")) or any(ok(m) for m in kmers),
        "aligned": ok(best.get("pfm_aligned")),
        "any": ok(best.get("pfm")) or ok(best.get("pfm_aligned")) or any(ok(m) for m in kmers),
        "pfm_family": ok(best.get("pfm"), ("tf", "family")),
        "pfm_or_kmers_family": ok(best.get("pfm"), ("tf", "family")) or any(ok(m, ("tf", "family")) for m in kmers),
        "aligned_family": ok(best.get("pfm_aligned"), ("tf", "family")),
        "pfm_top3": in_top3("pfm"),
        "pfm_or_kmers_top3": in_top3("pfm") or any(in_top3(f"kmer{i}") for i in (1, 2, 3)),
        "aligned_top3": in_top3("pfm_aligned"),
    }


FLAGS = ("pfm", "pfm_or_kmers", "aligned", "any", "pfm_family", "pfm_or_kmers_family", "aligned_family",
         "pfm_top3", "pfm_or_kmers_top3", "aligned_top3")


# settings that change what a row says; threads, plots and reuse only change how it was made
ROW_SETTINGS = ("model", "max_train", "epochs", "patience", "q", "debug_max_train", "seed", "top_n", "k",
                "releases", "tax_group")


def kept_rows(out: Path, args, names: list[str]) -> list[dict]:
    """The rows of an earlier run into the same table (same row settings) for experiments not run now, so
    ``--experiments A B`` adds A and B to the table instead of replacing it; other settings start afresh."""
    path = out.with_suffix(".json")
    if not path.exists():
        return []
    try:
        earlier = json.loads(path.read_text())
        same = all(earlier["settings"].get(k) == getattr(args, k) for k in ROW_SETTINGS)
        return [r for r in earlier["rows"] if same and r["experiment"] not in names]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise SystemExit(f"{path}: not an interpretation table ({err!r}); move it away to start a new one") from err


def in_order(rows: list[dict], available: list[str]) -> list[dict]:
    """Rows in the experiments' listing order (one table, however many runs made it)."""
    rank = {name: i for i, name in enumerate(available)}
    return sorted(rows, key=lambda r: rank.get(r["experiment"], len(rank)))


def summarise(rows: list[dict], args) -> dict:
    done = [r for r in rows if r.get("status") == "ok"]
    releases = list(args.releases)
    counts = {rel: {k: sum(bool(r["by_release"][rel][k]) for r in done if rel in r["by_release"]) for k in FLAGS}
              for rel in releases}
    for rel in releases:  # experiments whose TF has a matrix in that release (the denominator there)
        counts[rel]["n_tf_in_release"] = sum(bool(r["by_release"][rel]["tf_in_release"]) for r in done
                                             if rel in r["by_release"])
    settings = {k: v for k, v in vars(args).items() if k not in ("experiments", "data_root", "runs", "out")}
    settings["protocol"] = protocol_name(args)
    return {"settings": settings, "q_threshold": args.q,
            "headline_release": releases[0], "n_experiments_with_jaspar": len(done),
            "n_skipped": len(rows) - len(done), "counts": counts, "paper": paper_counts(), "rows": rows}


def write(summary: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    n = summary["n_experiments_with_jaspar"]
    s = summary["settings"]
    paper = summary["paper"]
    lines = [
        "# Attention-derived motifs vs the ChIP'd TF (DeepBind ENCODE), by the paper's method", "",
        f"Model `{s['model']}` per experiment, protocol `{s['protocol']}`: max_train={s['max_train']} (null: every "
        f"AC peak + its dinucleotide shuffle), max_epochs={s['epochs']}, patience={s['patience']}, seed={s['seed']}, "
        f"{s['threads']} thread(s) (the TFBS head-to-head's own run where it exists: `model_run` in the JSON); motifs "
        f"from the top {s['top_n']} test (B file) positives ranked by prediction, k={s['k']}; TOMTOM vs JASPAR CORE "
        f"{s['tax_group']}, BH q over all pairs. Experiments: those with a training file whose TF has a matrix in "
        f"{summary['headline_release']} ({n}).", "",
        f"Columns: the best match is the ChIP'd TF; the best match is the TF or its JASPAR family; the TF is among "
        f"the top-3 matches. Every match must have q < {summary['q_threshold']}. Command: "
        f"`python -m experiments.interpret_encode`.", "",
    ]
    for rel, c in summary["counts"].items():
        m = c["n_tf_in_release"]
        lines += [f"## {rel} ({'headline' if rel == summary['headline_release'] else 'comparison'}; "
                  f"{m} of the {n} TFs have a matrix in this release)", "",
                  "| read-out | best = TF | best = TF or family | TF in top 3 | paper |", "|---|---|---|---|---|",
                  f"| PFM (paper's read-out) | {c['pfm']} / {n} | {c['pfm_family']} / {n} | {c['pfm_top3']} / {n} | "
                  f"{paper['pfm']} / {paper['experiments']} |",
                  f"| PFM or top-3 k-mers | {c['pfm_or_kmers']} / {n} | {c['pfm_or_kmers_family']} / {n} | "
                  f"{c['pfm_or_kmers_top3']} / {n} | {paper['pfm_or_kmers']} / {paper['experiments']} |",
                  f"| aligned PFM (genarch) | {c['aligned']} / {n} | {c['aligned_family']} / {n} | "
                  f"{c['aligned_top3']} / {n} | - |",
                  ""]
    head = summary["headline_release"]
    lines += [f"## Per experiment ({head})", "",
              "| experiment | TF | test AUROC | PFM best match (q, level) | aligned PFM | k-mer 1 | best = TF |",
              "|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        if r.get("status") != "ok":
            lines.append(f"| {r['experiment']} | {r['tf']} | - | {r.get('status')} | | | |")
            continue
        ev = r["by_release"][head]
        b = ev["best"]
        cell = lambda key: (f"{b[key]['consensus']}: {b[key]['target']} ({b[key]['q']:.2g}, {b[key]['level']})"  # noqa: E731
                            if key in b else "-")
        flags = ", ".join(k for k in ("pfm", "aligned", "pfm_or_kmers") if ev[k]) or "no"
        auroc = f"{r['test_auroc']:.3f}" if r.get("test_auroc") is not None else "-"
        lines.append(f"| {r['experiment']} | {r['tf']} | {auroc} | {cell('pfm')} | {cell('pfm_aligned')} "
                     f"| {cell('kmer1')} | {flags} |")
    lines += ["", f"Only 13 of the paper's {paper['experiments']} experiments have training files here, so the counts "
              "are out of the JASPAR-covered TFs among those 13. The paper's method (from the facts file): "
              f"{paper['method']}."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiments", nargs="*", default=None, help="names or unique prefixes (default: all trainable)")
    p.add_argument("--data-root", default=os.environ.get("GENARCH_DATA", str(ROOT.parent / "shared" / "data")))
    p.add_argument("--model", default="+experiment=attentionnet_paper",
                   help="the genarch override choosing the model and its training (default: Table 3's AttentionNet)")
    p.add_argument("--max-train", type=int, default=None, help="training sequences (default: all, the full protocol)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--q", type=float, default=None,
                   help="TOMTOM q-value threshold (default: the paper's, from the facts file)")
    p.add_argument("--debug-max-train", type=int, default=None, metavar="N",
                   help="smoke run: at most N training sequences, separate *_debugN run folder and table")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top-n", type=int, default=100)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--releases", nargs="+", default=[DEFAULT_RELEASE, "JASPAR2016"],
                   help="JASPAR releases to match against; the first is the headline (default %(default)s)")
    p.add_argument("--reuse", action="store_true", help="reuse trained models in --runs instead of retraining")
    p.add_argument("--tax-group", default="vertebrates")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--runs", default=str(ROOT / "experiments" / "runs" / "interpret_encode"))
    p.add_argument("--out", default=None, help="output stem (default: experiments/results/interpret_encode_<protocol>)")
    args = p.parse_args(argv)
    if args.q is None:
        args.q = paper_counts()["q_threshold"]
    if args.out is None:
        folder = ROOT / "experiments" / ("runs/debug_results" if args.debug_max_train else "results")
        args.out = str(folder / f"interpret_encode_{protocol_name(args)}")

    from genarch.data.sources import resolve_experiment
    from genarch.jaspar import load_core

    available = trainable_experiments(Path(args.data_root))
    names = [resolve_experiment(e, available) for e in args.experiments] if args.experiments else available
    cores = {rel: list(load_core(rel, args.tax_group)) for rel in args.releases}
    kept = kept_rows(Path(args.out), args, names)
    rows = []
    for name in names:
        start = time.perf_counter()
        try:
            row = run_one(name, args, cores)
        except Exception as err:  # noqa: BLE001 - one failing experiment is recorded, the rest still run
            row = {"experiment": name, "tf": name.split("_")[0], "status": f"failed: {type(err).__name__}: {err}"}
        rows.append(row)
        write(summarise(in_order(kept + rows, available), args), Path(args.out))
        head = row.get("by_release", {}).get(args.releases[0], {})
        flags = {k: head.get(k) for k in ("pfm", "pfm_or_kmers", "aligned")}
        print(f"{name}: {row.get('status')} {flags} auroc={row.get('test_auroc')} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    summary = summarise(in_order(kept + rows, available), args)
    print(json.dumps({"n": summary["n_experiments_with_jaspar"], **summary["counts"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
