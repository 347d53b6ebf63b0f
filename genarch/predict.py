"""``python -m genarch.predict <run_dir> <input> [--out F]``: score new sequences with a trained run.

Input: FASTA (``.fa``/``.fasta``/``.fna``), DeepBind ``.seq``, a CSV/TSV table with a sequence column,
or a one-hot ``.npy`` (``(N, 4, L)`` or ``(N, L, 4)``), each optionally gzipped (not ``.npy``). The
sequences are brought to the length the run was trained on the way its dataset did it (the run's
``.hydra/config.yaml``: ``dataset.length_mode`` pad/trim/centre and ``dataset.n_value``), scored in
batches on CPU or GPU, and written one row per sequence: ``id`` then one column per target (the
probability for a binary task, the predicted value for regression). ``--rc-average`` averages the
model's outputs (logits for a binary task) on each sequence and its reverse complement.
Bad input is reported as the readers' one-line error naming the file and line.
"""

import argparse
import csv
import io
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from genarch.data.errors import DataError

log = logging.getLogger(__name__)
FORMATS = ("auto", "fasta", "seq", "table", "npy")
_FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")


@dataclass
class Encoded:
    """Sequences ready for the model: one-hot ``uint8 (N, 4, L)`` and their ids."""

    x: np.ndarray
    ids: list[str]


@dataclass
class TrainedRun:
    """A run directory's network and how its dataset encoded sequences."""

    net: Any
    task: str
    target_names: list[str]
    seq_len: int
    length_mode: str = "pad"
    n_value: float = 0


def load_run(run_dir: "str | Path") -> TrainedRun:
    """The trained network (model.pt, or checkpoints/best.ckpt) and the run's sequence encoding."""
    from genarch.training.checkpoints import best_ckpt_path
    from genarch.training.runner import MODEL_FILE, load_trained

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: not a run directory")
    if not (run_dir / MODEL_FILE).exists() and not best_ckpt_path(run_dir).exists():
        raise FileNotFoundError(f"{run_dir}: no trained model "
                                f"({MODEL_FILE} or {best_ckpt_path(run_dir).relative_to(run_dir)}); "
                                "was the run trained with trainer.save_checkpoint=false?")
    net, spec = load_trained(run_dir)
    dataset = _run_dataset_config(run_dir)
    return TrainedRun(net=net, task=spec["task"], target_names=[str(t) for t in spec["target_names"]],
                      seq_len=int(spec["seq_len"]), length_mode=str(dataset.get("length_mode") or "pad"),
                      n_value=float(dataset.get("n_value") or 0))


def _run_dataset_config(run_dir: Path) -> dict[str, Any]:
    """The run's ``dataset`` config (length_mode, n_value); without ``.hydra/config.yaml`` the defaults."""
    import yaml

    path = run_dir / ".hydra" / "config.yaml"
    if not path.exists():
        log.warning("%s missing: sequences are padded to the trained length (length_mode=pad, n_value=0)", path)
        return {}
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    return dict(config.get("dataset") or {})


def input_format(path: Path, given: str = "auto") -> str:
    """The reader for ``path``: ``given`` unless auto, else from the suffix (a trailing ``.gz`` ignored)."""
    if given != "auto":
        return given
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(_FASTA_SUFFIXES):
        return "fasta"
    if name.endswith(".seq"):
        return "seq"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "table"
    if name.endswith(".npy"):
        return "npy"
    raise DataError("cannot tell the input format from the file name (.fa/.fasta, .seq, .csv/.tsv, .npy, "
                    "optionally .gz): pass --format", path)


def read_inputs(path: "str | Path", run: TrainedRun, fmt: str = "auto", seq_column: str = "sequence",
                id_column: Optional[str] = None, base_order: str = "ACGT") -> Encoded:
    """Read and encode ``path`` at the run's length, with the run's length mode and N encoding."""
    from genarch.data.encode import one_hot
    from genarch.data.readers import read_fasta

    path = Path(path)
    fmt = input_format(path, fmt)
    if fmt == "npy":
        return _read_onehot(path, run, base_order)
    if fmt == "fasta":
        ids, seqs, lines = read_fasta(path, run.seq_len, run.length_mode)
    elif fmt == "seq":
        from genarch.data.sources import read_deepbind

        raw = read_deepbind(path)
        ids, seqs, lines = [str(i) for i in raw.ids], raw.seqs, raw.lines.tolist()
    else:
        ids, seqs, lines = read_sequence_table(path, seq_column, id_column)
    x = one_hot(seqs, run.n_value, run.seq_len, run.length_mode, str(path), lines)
    return Encoded(x, list(ids))


def read_sequence_table(path: Path, seq_column: str = "sequence",
                        id_column: Optional[str] = None) -> tuple[list[str], list[str], list[int]]:
    """A CSV/TSV (``.csv``: commas, else tabs) with a header naming a sequence column; other columns (targets
    or not) are ignored. Ids from ``id_column`` (default: an ``id`` column when there is one, else
    ``<file>:<line>``)."""
    from genarch.data.readers import check_unique_ids, read_text

    text = read_text(path)
    sep = "," if path.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    header = [h.strip() for h in next(reader)]
    if seq_column not in header:
        raise DataError(f"missing column {seq_column!r}; columns are {header} (set --seq-column)", path, 1,
                        key=seq_column)
    if id_column is not None and id_column not in header:
        raise DataError(f"missing column {id_column!r}; columns are {header} (set --id-column)", path, 1, key=id_column)
    id_column = id_column or ("id" if "id" in header else None)
    seq_at, id_at = header.index(seq_column), None if id_column is None else header.index(id_column)
    ids, seqs, lines = [], [], []
    line = reader.line_num
    for fields in reader:
        first, line = line + 1, reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) <= max(seq_at, -1 if id_at is None else id_at):
            raise DataError(f"{len(fields)} fields; the header names {len(header)} columns", path, first)
        seq = fields[seq_at].strip()
        if not seq:
            raise DataError(f"empty sequence in column {seq_column!r}", path, first)
        seqs.append(seq)
        ids.append(fields[id_at].strip() if id_at is not None else f"{path.name}:{first}")
        lines.append(first)
    if not seqs:
        raise DataError("file has a header but no records", path)
    check_unique_ids(np.array(ids), np.array(lines), path)
    return ids, seqs, lines


def _read_onehot(path: Path, run: TrainedRun, base_order: str) -> Encoded:
    from genarch.data.dataset import _fit_array
    from genarch.data.encode import reorder_bases
    from genarch.data.readers import load_npy

    x = load_npy(path)
    if x.ndim != 3 or 4 not in x.shape[1:]:
        raise DataError(f"expected a one-hot array (N, 4, L) or (N, L, 4), got shape {x.shape}", path)
    if x.shape[1] != 4:
        x = x.transpose(0, 2, 1)
    if not np.isin(x, (0, 1)).all():
        raise DataError("one-hot array holds values other than 0/1", path)
    x = _fit_array(reorder_bases(x.astype(np.uint8), base_order), run.seq_len, run.length_mode, str(path))
    return Encoded(x, [f"{path.name}:{i}" for i in range(len(x))])


def choose_device(device: str) -> Any:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "gpu":
        if not torch.cuda.is_available():
            raise RuntimeError("--device gpu: no CUDA GPU is visible to torch (use --device cpu or auto)")
        return torch.device("cuda")
    return torch.device("cpu")


def score(run: TrainedRun, x: np.ndarray, batch_size: int = 1000, rc_average: bool = False,
          device: str = "cpu") -> np.ndarray:
    """Model outputs for one-hot ``x`` ``(N, 4, L)``: probabilities (binary) or values (regression), ``(N, T)``."""
    import torch

    from genarch.data.encode import reverse_complement
    from genarch.model.builder import reads_both_strands
    from genarch.training.batches import predict_on

    if not len(x):
        return np.zeros((0, len(run.target_names)), dtype=np.float32)
    target = choose_device(device)
    if rc_average and reads_both_strands(run.net):
        log.info("--rc-average: this run reads both strands already (model.strands=both); scored once")
        rc_average = False
    with torch.no_grad():
        y = torch.from_numpy(predict_on(target, run.net, x, batch_size))
        if rc_average:
            y = (y + torch.from_numpy(predict_on(target, run.net, reverse_complement(x), batch_size))) / 2
    return (torch.sigmoid(y) if run.task == "binary" else y).numpy()


def predict_file(run_dir: "str | Path", path: "str | Path", batch_size: int = 1000, rc_average: bool = False,
                 device: str = "cpu", fmt: str = "auto", seq_column: str = "sequence",
                 id_column: Optional[str] = None, base_order: str = "ACGT", length_mode: Optional[str] = None):
    """Predictions for every sequence of ``path`` as a pandas DataFrame: ``id`` and one column per target."""
    import pandas as pd

    run = load_run(run_dir)
    if length_mode is not None:
        run.length_mode = length_mode
    encoded = read_inputs(path, run, fmt, seq_column, id_column, base_order)
    values = score(run, encoded.x, batch_size, rc_average, device)
    frame = pd.DataFrame(values, columns=run.target_names)
    frame.insert(0, "id", encoded.ids)
    return frame


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m genarch.predict", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path, help="a training run directory (model.pt, .hydra/config.yaml)")
    p.add_argument("input", type=Path, help="FASTA, DeepBind .seq, CSV/TSV table (optionally .gz) or one-hot .npy")
    p.add_argument("--out", type=Path, default=None,
                   help="output table (.csv: commas, else tabs; default: TSV on stdout)")
    p.add_argument("--rc-average", action="store_true",
                   help="average each sequence's and its reverse complement's output")
    p.add_argument("--batch-size", type=int, default=1000, help="sequences per forward pass (default %(default)s)")
    p.add_argument("--device", choices=("cpu", "gpu", "auto"), default="cpu", help="default %(default)s")
    p.add_argument("--format", choices=FORMATS, default="auto", help="input format (default: from the file name)")
    p.add_argument("--seq-column", default="sequence", help="table input: the sequence column (default %(default)s)")
    p.add_argument("--id-column", default=None, help="table input: the id column (default: 'id' if present)")
    p.add_argument("--base-order", default="ACGT", help=".npy input: row order of the bases (default %(default)s)")
    p.add_argument("--length-mode", choices=("pad", "trim", "centre"), default=None,
                   help="fit sequences to the trained length this way (default: the run's dataset.length_mode)")
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error(f"--batch-size must be >= 1, got {args.batch_size}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        frame = predict_file(args.run_dir, args.input, args.batch_size, args.rc_average, args.device, args.format,
                             args.seq_column, args.id_column, args.base_order, args.length_mode)
    except (DataError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sep = "," if args.out is not None and args.out.suffix.lower() == ".csv" else "\t"
    if args.out is None:
        frame.to_csv(sys.stdout, sep=sep, index=False, float_format="%.6g")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial = args.out.with_name(args.out.name + ".partial")
        frame.to_csv(partial, sep=sep, index=False, float_format="%.6g")
        partial.replace(args.out)
        print(f"scored {len(frame)} sequences -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # the process, not main(): an in-process caller keeps its own float mode
    from genarch.training.subnormals import flush_subnormals

    flush_subnormals()  # before torch starts its worker threads: they take the mode of the thread that starts them
    sys.exit(main())
