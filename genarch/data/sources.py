"""Dataset options that read real files: DeepBind ENCODE, GUE, generic tables, FASTA + targets, .npy."""

from __future__ import annotations

import re
import math
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from genarch.data.dataset import SequenceDataset
from genarch.data.encode import reorder_bases
from genarch.data.errors import DataError
from genarch.data.paths import resolve_path
from genarch.data.readers import RawSeqs, load_npy, read_fasta_with_targets, read_table
from genarch.data.shuffle import dinuc_shuffle_many

DEFAULT_DATA_ROOT = "../shared/data"


def _root(data_root: Optional[str], sub: str) -> Path:
    import os

    base = data_root or os.environ.get("GENARCH_DATA") or DEFAULT_DATA_ROOT
    return resolve_path(sub, resolve_path(base))


# ------------------------------------------------------------------------------------------------
# DeepBind ENCODE ChIP-seq
# ------------------------------------------------------------------------------------------------
_AC, _B = "_AC.seq.gz", "_B.seq.gz"


def deepbind_experiments(root: Union[str, Path]) -> dict[str, dict[str, Optional[Path]]]:
    """experiment name -> {"train": AC file or None, "test": B file or None}."""
    root = Path(root)
    found: dict[str, dict[str, Optional[Path]]] = {}
    for sub, suffix, role in (("train", _AC, "train"), ("test", _B, "test"), ("test_only", _B, "test")):
        for path in sorted((root / sub).glob(f"*{suffix}")):
            name = path.name[: -len(suffix)]
            found.setdefault(name, {"train": None, "test": None})[role] = path
    return dict(sorted(found.items()))


def resolve_experiment(name: str, experiments: Sequence[str], what: str = "experiment", where: str = "") -> str:
    """Exact name, or a unique prefix (case-insensitive); otherwise a DataError listing the options."""
    if name in experiments:
        return name
    matches = [e for e in experiments if e.lower().startswith(str(name).lower())]
    if len(matches) == 1:
        return matches[0]
    listing = "\n  ".join(experiments) if experiments else "(none found)"
    if matches:
        raise DataError(f"{what} {name!r} is ambiguous; it matches:\n  " + "\n  ".join(matches), where or None,
                        key=what)
    raise DataError(f"unknown {what} {name!r}; available:\n  {listing}", where or None, key=what)


def read_deepbind(path: Union[str, Path]) -> RawSeqs:
    raw = read_table(path, seq_column="seq", target_columns=["Bound"], id_column="EventID", sep="\t",
                     extra_columns=["FoldID"])
    raw.seqs = [s.upper() for s in raw.seqs]
    return raw


class DeepBindENCODE(SequenceDataset):
    """DeepBind ENCODE ChIP-seq: ``*_AC`` training peaks (positives only; one dinucleotide-shuffled
    negative is made per positive, seeded) and the ``*_B`` test file (positives and negatives)."""

    task = "binary"

    def __init__(self, experiment: str = "CTCFL_K562", data_root: Optional[str] = None,
                 root: str = "tfbs/deepbind_encode", fixed_val: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("split", {"kind": "fixed"})
        super().__init__(**kwargs)
        # False: max_train's peaks are drawn before the validation carve (fewer to shuffle), so validation
        # shrinks with max_train; True: validation is carved from every peak, the same at any max_train
        self.fixed_val = bool(fixed_val)
        self.root = _root(data_root, root)
        experiments = deepbind_experiments(self.root)
        if not experiments:
            raise DataError("no DeepBind experiments found (expected train/*_AC.seq.gz and test/*_B.seq.gz; "
                            "run `python -m genarch.data fetch deepbind_encode`)", self.root)
        self.experiment = resolve_experiment(experiment, list(experiments), "experiment", str(self.root))
        self.files = experiments[self.experiment]
        if self.files["train"] is None:
            trainable = [e for e, f in experiments.items() if f["train"] is not None]
            raise DataError(f"experiment {self.experiment!r} has a test file only (no *_AC training file); "
                            f"trainable experiments:\n  " + "\n  ".join(trainable), self.root, key="experiment")
        self.name = f"deepbind_encode/{self.experiment}"

    def _read(self) -> dict[str, RawSeqs]:
        pos = read_deepbind(self.files["train"])
        n_pos = len(pos)
        if self.split_cfg["kind"] == "fixed" and self.max_train is not None and not self.fixed_val:
            # only shuffle what training can use: max_train after the validation carve-out, half positives
            need = math.ceil(int(self.max_train) / max(1e-9, 1 - self.val_fraction) / 2) + 1
            if need < n_pos:
                keep = np.sort(np.random.default_rng([self.seed, 4]).choice(n_pos, need, replace=False))
                pos = pos.subset(keep)
        negs = dinuc_shuffle_many(pos.seqs, seed=self.seed)
        n = len(pos)
        train = RawSeqs(
            seqs=pos.seqs + negs, y=np.r_[pos.y[:, 0], np.zeros(n, np.float32)][:, None].astype(np.float32),
            ids=np.r_[pos.ids, np.char.add(pos.ids.astype(str), "_shuf")], lines=np.r_[pos.lines, pos.lines],
            source=pos.source, target_names=["bound"],
            groups=np.r_[np.char.add("train:", pos.ids.astype(str)), np.char.add("train:", pos.ids.astype(str))],
        )
        parts = {"train": train}
        if self.files["test"] is not None:
            test = read_deepbind(self.files["test"])
            test.target_names = ["bound"]
            test.ids = np.char.add("test:", test.ids.astype(str))
            # a peak and its shuffle (seq_N_peak, seq_N_shuf) stay together when the files are pooled
            test.groups = np.array([re.sub(r"_(peak|shuf)$", "", i) for i in test.ids.astype(str)])
            parts["test"] = test
        self._n_pos = n_pos
        return parts

    def _info(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "train_file": str(self.files["train"]), "fixed_val": self.fixed_val,
                "test_file": None if self.files["test"] is None else str(self.files["test"]),
                "negatives": "one dinucleotide shuffle per positive (Altschul-Erickson), seed=%d" % self.seed}


# ------------------------------------------------------------------------------------------------
# GUE (DNABERT-2) transcription-factor tasks
# ------------------------------------------------------------------------------------------------
def gue_tasks(root: Union[str, Path]) -> list[str]:
    root = Path(root)
    return sorted(str(p.parent.relative_to(root)) for p in root.glob("*/*/train.csv"))


class GUE(SequenceDataset):
    """GUE task directory ``<root>/<task>/{train,dev,test}.csv`` with header ``sequence,label``."""

    task = "binary"

    def __init__(self, task: str = "tf/0", data_root: Optional[str] = None, root: str = "tfbs/gue",
                 **kwargs: Any) -> None:
        kwargs.setdefault("split", {"kind": "fixed"})
        super().__init__(**kwargs)
        self.root = _root(data_root, root)
        tasks = gue_tasks(self.root)
        if not tasks:
            raise DataError("no GUE tasks found (expected <group>/<n>/train.csv)", self.root)
        self.gue_task = resolve_experiment(str(task), tasks, "task", str(self.root))
        self.name = f"gue/{self.gue_task}"

    def _read(self) -> dict[str, RawSeqs]:
        out = {}
        for role in ("train", "dev", "test"):
            path = self.root / self.gue_task / f"{role}.csv"
            if role == "train" or path.exists():
                raw = read_table(path, seq_column="sequence", target_columns=["label"], sep=",")
                raw.target_names = ["label"]
                out[role] = raw
        return out

    def _info(self) -> dict[str, Any]:
        return {"task_dir": str(self.root / self.gue_task)}


# ------------------------------------------------------------------------------------------------
# Generic table / FASTA / npy
# ------------------------------------------------------------------------------------------------
def _as_list(v) -> Optional[list]:
    if v is None:
        return None
    return [v] if isinstance(v, (str, int)) else list(v)



def _default_kind(split: Any, has_test: bool) -> dict[str, Any]:
    """``split.kind`` null (the table and fasta presets' default): ``fixed`` when a test file is given, so
    the file the user holds out stays held out, else ``random``."""
    split = dict(split or {})
    if split.get("kind") is None:
        split["kind"] = "fixed" if has_test else "random"
    return split

class TableDataset(SequenceDataset):
    """CSV/TSV (optionally .gz) files with a sequence column and one or more target columns.

    ``train`` is required; ``test`` and ``dev`` are optional fixed files. A list of files per role is
    concatenated. Paths are relative to ``data_root``.
    """

    def __init__(self, train: Union[str, Sequence[str]], test: Union[str, Sequence[str], None] = None,
                 dev: Union[str, Sequence[str], None] = None, seq_column: Union[str, int] = "sequence",
                 target_columns: Union[str, int, Sequence[Union[str, int]], None] = None,
                 id_column: Union[str, int, None] = None, sep: Optional[str] = None, header: bool = True,
                 target_names: Optional[Sequence[str]] = None, data_root: Optional[str] = None,
                 **kwargs: Any) -> None:
        kwargs["split"] = _default_kind(kwargs.get("split"), bool(test))
        self.rename = None if target_names is None else [str(t) for t in target_names]
        super().__init__(**kwargs)
        base = resolve_path(data_root) if data_root else None
        self.base = base
        self.files = {role: [resolve_path(p, base) for p in _as_list(v)]
                      for role, v in (("train", train), ("dev", dev), ("test", test)) if v}
        self.read_kwargs = dict(seq_column=seq_column, target_columns=_as_list(target_columns),
                                id_column=id_column, sep=sep, header=header)

    def _read(self) -> dict[str, RawSeqs]:
        out = {}
        for role, paths in self.files.items():
            raws = [read_table(p, **self.read_kwargs) for p in paths]
            if self.read_kwargs["id_column"] is not None and len(raws) > 1:
                _check_ids_across_files(raws)
            out[role] = _concat_raw(raws)
        names = [r.target_names for r in out.values()]
        if any(n != names[0] for n in names):
            raise DataError(f"files disagree on target columns: {names}", key="target_columns")
        if self.rename is not None:
            if len(self.rename) != len(names[0]):
                raise DataError(f"{len(self.rename)} target_names for {len(names[0])} target columns",
                                key="target_names")
            for raw in out.values():
                raw.target_names = list(self.rename)
        return out

    def _info(self) -> dict[str, Any]:
        return {"files": {r: [str(p) for p in ps] for r, ps in self.files.items()}}


class FastaDataset(SequenceDataset):
    """FASTA sequences plus a CSV/TSV of targets keyed by sequence id (``id_column``)."""

    def __init__(self, fasta: str, targets: str, test_fasta: Optional[str] = None, test_targets: Optional[str] = None,
                 id_column: Union[str, int] = "id", target_columns: Union[str, Sequence[str], None] = None,
                 sep: Optional[str] = None, data_root: Optional[str] = None, **kwargs: Any) -> None:
        kwargs["split"] = _default_kind(kwargs.get("split"), bool(test_fasta))
        super().__init__(**kwargs)
        base = resolve_path(data_root) if data_root else None
        self.base = base
        self.pairs = {"train": (resolve_path(fasta, base), resolve_path(targets, base))}
        if test_fasta:
            if not test_targets:
                raise DataError("test_fasta needs test_targets", key="test_targets")
            self.pairs["test"] = (resolve_path(test_fasta, base), resolve_path(test_targets, base))
        self.id_column, self.target_columns, self.sep = id_column, _as_list(target_columns), sep

    def _read(self) -> dict[str, RawSeqs]:
        return {role: read_fasta_with_targets(f, t, self.id_column, self.target_columns, self.sep,
                                              length=self.length, length_mode=self.length_mode)
                for role, (f, t) in self.pairs.items()}


class NpyDataset(SequenceDataset):
    """One-hot sequences in ``.npy`` (``(N, 4, L)``, or ``(N, L, 4)`` with ``layout: NLC``) and targets
    ``(N,)`` or ``(N, T)``. ``base_order`` gives the row order of the 4 bases in the file."""

    def __init__(self, x: str, y: str, target_names: Union[str, Sequence[str], None] = None,
                 target_names_column: int = -1, ids: Optional[str] = None, base_order: str = "ACGT",
                 layout: str = "NCL", data_root: Optional[str] = None, **kwargs: Any) -> None:
        kwargs.setdefault("split", {"kind": "random"})
        super().__init__(**kwargs)
        self.base = resolve_path(data_root) if data_root else None
        self.x_path, self.y_path = resolve_path(x, self.base), resolve_path(y, self.base)
        self.target_names_spec, self.target_names_column = target_names, target_names_column
        self.ids_path = None if ids is None else resolve_path(ids, self.base)
        self.base_order, self.layout = base_order, layout.upper()
        if self.layout not in ("NCL", "NLC"):
            raise DataError(f"layout must be NCL or NLC, got {layout!r}", key="layout")

    def _read(self) -> dict[str, RawSeqs]:
        x = load_npy(self.x_path)
        if x.ndim != 3:
            raise DataError(f"expected a 3-D one-hot array, got shape {x.shape}", self.x_path)
        if self.layout == "NLC":
            x = x.transpose(0, 2, 1)
        if x.shape[1] != 4:
            raise DataError(f"expected 4 base rows (layout {self.layout}), got shape {x.shape}", self.x_path)
        if not np.isin(x, (0, 1)).all():
            raise DataError("one-hot array holds values other than 0/1", self.x_path)
        several = x.sum(axis=1) > 1  # a column with two bases (an all-zero column is N, padding)
        if several.any():
            row, pos = np.argwhere(several)[0]
            raise DataError(f"sequence {row} has {int(x[row, :, pos].sum())} bases set at position {pos} "
                            f"(one-hot: at most one 1 a position)", self.x_path, key=f"[{row}]")
        x = reorder_bases(x.astype(np.uint8), self.base_order)
        raw_y = load_npy(self.y_path)
        try:
            y = raw_y.astype(np.float32)
        except (TypeError, ValueError) as err:
            raise DataError(f"targets must be numbers ({raw_y.dtype} array: {err})", self.y_path) from None
        if y.ndim not in (1, 2):
            raise DataError(f"targets must be (N,) or (N, T), got shape {y.shape}", self.y_path)
        y = y[:, None] if y.ndim == 1 else y
        if len(y) != len(x):
            raise DataError(f"{len(x)} sequences in {self.x_path.name} but {len(y)} target rows", self.y_path)
        bad = ~np.isfinite(y)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            what = "NaN" if np.isnan(y[row, col]) else "infinite or out-of-float32-range"
            raise DataError(f"{what} target at row {row}, column {col}", self.y_path, key=f"[{row}, {col}]")
        names = self._target_names(y.shape[1])
        if self.ids_path is not None:
            ids = np.array([i.decode() if isinstance(i, bytes) else str(i) for i in load_npy(self.ids_path)])
            if len(ids) != len(x):
                raise DataError(f"{len(ids)} ids for {len(x)} sequences", self.ids_path)
        else:
            ids = np.array([f"{self.x_path.name}[{i}]" for i in range(len(x))])
        from genarch.data.readers import check_unique_ids

        check_unique_ids(ids, None, self.ids_path or self.x_path)
        return {"all": RawSeqs(seqs=None, x=x, y=y, ids=ids, lines=np.zeros(len(x), dtype=int),
                               source=str(self.x_path), target_names=names)}

    def _target_names(self, t: int) -> list[str]:
        spec = self.target_names_spec
        if spec is None:
            return [f"target{i}" for i in range(t)]
        if isinstance(spec, str):
            path = resolve_path(spec, self.base)
            arr = load_npy(path, allow_pickle=True)
            if arr.ndim == 2 and not -arr.shape[1] <= self.target_names_column < arr.shape[1]:
                raise DataError(f"target_names_column {self.target_names_column} is out of range for the "
                                f"{arr.shape[1]} columns of the names array", path, key="target_names_column")
            names = list(arr[:, self.target_names_column] if arr.ndim == 2 else arr)
        else:
            names = list(spec)
        if len(names) != t:
            raise DataError(f"{len(names)} target names for {t} target columns", str(spec), key="target_names")
        return [str(n) for n in names]


def _check_ids_across_files(raws: list[RawSeqs]) -> None:
    """An id column's ids are unique over the files pooled into one role, not only within each file (each
    file checks its own): a split, a group regex or an interpretation keyed by id would mix two records.
    Across roles an id may repeat (public sets such as DREAM 2022 and DeepSTARR keep a sequence's id in
    its test or validation copy; ``test_copies`` handles those)."""
    seen: dict[str, tuple[str, int]] = {}
    for raw in raws:
        for ident, line in zip(raw.ids.tolist(), raw.lines.tolist()):
            if ident in seen and seen[ident][0] != raw.source:
                first, first_line = seen[ident]
                raise DataError(f"duplicate id {ident!r} (first seen in {first} line {first_line})", raw.source,
                                int(line), key=ident)
            seen.setdefault(ident, (raw.source, int(line)))


def _concat_raw(raws: list[RawSeqs]) -> RawSeqs:
    """Several files of one role as one pool; ``extra["segments"]`` keeps each file's name and record
    count, so that an error in a record names its own file and line."""
    if len(raws) == 1:
        return raws[0]
    text = all(r.seqs is not None for r in raws)
    return RawSeqs(seqs=sum((r.seqs for r in raws), []) if text else None,
                   x=None if text else np.concatenate([r.x for r in raws]),
                   y=np.concatenate([r.y for r in raws]),
                   ids=np.concatenate([r.ids for r in raws]), lines=np.concatenate([r.lines for r in raws]),
                   source=";".join(r.source for r in raws), target_names=raws[0].target_names,
                   groups=None if any(r.groups is None for r in raws) else np.concatenate([r.groups for r in raws]),
                   extra={"segments": [(r.source, len(r)) for r in raws]})


__all__ = ["DeepBindENCODE", "GUE", "TableDataset", "FastaDataset", "NpyDataset", "deepbind_experiments",
           "gue_tasks", "resolve_experiment", "read_deepbind"]
