"""Loading benchmark: parse + one-hot encode 100,000 sequences of 101 bp (target: under 2 s).

    python -m experiments.bench_loading [--n 100000] [--length 101] [--repeats 3]

Prints the best-of-``repeats`` wall time of each stage and the size of the compact uint8 tensor.
Not a timed test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import numpy as np

from genarch.data.encode import one_hot
from genarch.data.readers import read_table
from genarch.data.sources import TableDataset


def best_of(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--length", type=int, default=101)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(args.n, args.length), dtype=np.uint8)
    raw = np.frombuffer(b"ACGT", dtype=np.uint8)[codes].tobytes().decode()
    seqs = [raw[i * args.length:(i + 1) * args.length] for i in range(args.n)]
    y = rng.normal(size=args.n)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "seqs.csv"
        csv_path.write_text("sequence,y\n" + "".join(f"{s},{v:.4f}\n" for s, v in zip(seqs, y)))
        gz_path = Path(tmp) / "seqs_AC.seq.gz"
        with gzip.open(gz_path, "wt", compresslevel=6) as fh:
            fh.write("FoldID\tEventID\tseq\tBound\n" + "".join(f"A\tseq_{i}\t{s}\t1\n" for i, s in enumerate(seqs)))

        t_encode, x = best_of(lambda: one_hot(seqs), args.repeats)
        t_csv, _ = best_of(lambda: read_table(csv_path, "sequence", ["y"]), args.repeats)
        t_gz, _ = best_of(lambda: read_table(gz_path, "seq", ["Bound"], id_column="EventID"), args.repeats)
        t_total, bundle = best_of(lambda: TableDataset(train=str(csv_path), target_columns=["y"]).load(), args.repeats)

    print(f"sequences: {args.n:,} x {args.length} bp")
    print(f"one-hot encode (list of str -> uint8 (N,4,L)):      {t_encode:6.3f} s")
    print(f"read CSV (sequence,y) -> strings + float32 targets: {t_csv:6.3f} s")
    print(f"read gzip TSV (DeepBind format, with id checks):    {t_gz:6.3f} s")
    print(f"CSV load + encode + random split (TableDataset):    {t_total:6.3f} s")
    print(f"one-hot tensor: dtype={x.dtype} shape={x.shape} size={x.nbytes / 2**20:.1f} MiB "
          f"(float32 would be {x.nbytes * 4 / 2**20:.1f} MiB)")
    print(f"bundle train split: {bundle.train.x.dtype} {bundle.train.x.shape}")


if __name__ == "__main__":
    main()
