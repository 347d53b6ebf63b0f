"""``python -m genarch.interpret <run_dir> [options]``: attention maps, motifs, JASPAR matches, logos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genarch.interpret.numba_cache import ensure_numba_cache_dir

ensure_numba_cache_dir()

from genarch.interpret.pipeline import InterpretConfig  # noqa: E402


def parse_args(argv: "list[str] | None" = None) -> tuple[Path, InterpretConfig]:
    d = InterpretConfig()
    p = argparse.ArgumentParser(prog="python -m genarch.interpret", description=__doc__)
    p.add_argument("run_dir", type=Path, help="a training run directory (model.pt, .hydra/config.yaml)")
    p.add_argument("--split", default=d.split, choices=("test", "val", "train"))
    p.add_argument("--method", default=d.method, choices=("auto", "attention", "gradxinput", "ism"))
    p.add_argument("--top-n", type=int, default=d.top_n, help="sequences used for the PFM (default %(default)s)")
    p.add_argument("-k", "--k", type=int, default=d.k, help="window width around the peak, bp (default %(default)s)")
    p.add_argument("--kmer-len", type=int, default=d.kmer_len)
    p.add_argument("--n-kmers", type=int, default=d.n_kmers)
    p.add_argument("--release", default=d.release, help="JASPAR release shipped with pyjaspar (default %(default)s)")
    p.add_argument("--tax-group", default=d.tax_group, help="JASPAR taxonomic group, or 'all' (default %(default)s)")
    p.add_argument("--tf", default=None, help="the ChIP'd TF (default: from the dataset)")
    p.add_argument("--outputs", nargs="+", default=None, help="output names to interpret (default: all)")
    p.add_argument("--genes", nargs="+", default=None, help="regression: sequence ids to plot")
    p.add_argument("--blur", type=float, default=d.blur_sigma, help="Gaussian blur sigma in bp (0: none)")
    p.add_argument("--examples", type=int, default=d.n_examples)
    p.add_argument("--tolerance", type=int, default=d.tolerance, help="known-answer tolerance, bp")
    p.add_argument("--max-sequences", type=int, default=None)
    p.add_argument("--compare", nargs="+", default=[], help="other run dirs to compare mean maps with")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-logos", action="store_true")
    p.add_argument("--tss", type=int, default=None)
    p.add_argument("--out", default=None, help="output folder (default <run_dir>/interpret)")
    p.add_argument("--threads", type=int, default=-1, help="numba threads for TOMTOM (-1: all)")
    a = p.parse_args(argv)
    cfg = InterpretConfig(split=a.split, method=a.method, top_n=a.top_n, k=a.k, kmer_len=a.kmer_len,
                          n_kmers=a.n_kmers, release=a.release, tax_group=a.tax_group, tf=a.tf, outputs=a.outputs,
                          genes=a.genes, blur_sigma=a.blur, n_examples=a.examples, tolerance=a.tolerance,
                          max_sequences=a.max_sequences, compare=list(a.compare), plots=not a.no_plots,
                          logos=not a.no_logos, tss=a.tss, out_dir=a.out, n_jobs=a.threads)
    return a.run_dir, cfg


def main(argv: "list[str] | None" = None) -> int:
    from rich.console import Console

    from genarch.interpret.pipeline import interpret_run

    run_dir, cfg = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    try:
        interpret_run(run_dir, cfg, console=console)
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        return 2
    return 0


if __name__ == "__main__":  # the process, not main(): an in-process caller keeps its own float mode
    from genarch.training.subnormals import flush_subnormals

    flush_subnormals()  # before torch starts its worker threads: they take the mode of the thread that starts them
    sys.exit(main())
