"""The shared pipeline behind every dataset option: parse -> group targets -> encode -> split ->
carve validation -> subsample -> augment -> :class:`DataBundle`.

A dataset class subclasses :class:`SequenceDataset` and implements ``_read()``, returning parsed
:class:`RawSeqs` per role: ``{"all": ...}`` or ``{"train": ..., "test": ..., ["dev": ...]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import abc
import logging
import os
import numpy as np

from genarch.data.base import ArraySplit, DataBundle
from genarch.data.encode import check_length, fit_length, one_hot, reverse_complement
from genarch.data.errors import DataError
from genarch.data.readers import RawSeqs, record_origin
from genarch.data.splits import SPLIT_KINDS, groups_from_regex, groups_from_shared_kmers, kfold_split, random_split
from genarch.data.targets import group_targets, load_group_spec

log = logging.getLogger(__name__)

DEFAULT_SPLIT = {"kind": "fixed", "k": 10, "fold": 0, "test_fraction": 0.1, "group_regex": None, "group_kmer": None}


@dataclass
class _Part:
    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    groups: Optional[np.ndarray]

    def take(self, index: np.ndarray) -> "_Part":
        return _Part(self.x[index], self.y[index], self.ids[index], None if self.groups is None else self.groups[index])

    @staticmethod
    def concat(parts: list["_Part"]) -> "_Part":
        groups = None
        if all(p.groups is not None for p in parts):
            groups = np.concatenate([np.asarray(p.groups).astype(str) for p in parts])
        elif any(p.groups is not None for p in parts):
            # records without a group are singletons
            groups = np.concatenate([np.asarray(p.groups).astype(str) if p.groups is not None
                                     else np.array([f"\x00{i}" for i in p.ids]) for p in parts])
        return _Part(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                     np.concatenate([p.ids for p in parts]), groups)

    def split(self) -> ArraySplit:
        return ArraySplit(self.x, self.y.astype(np.float32), self.ids)


class SequenceDataset(abc.ABC):
    """Common options of every dataset (see docs/datasets.md). Subclasses implement ``_read``."""

    name = "dataset"
    task = "regression"
    base = None  # the resolved data_root of file-based datasets: relative side files (target_groups) are read from it

    def __init__(self, seed: int = 0, val_fraction: float = 0.1, split: Optional[Mapping[str, Any]] = None,
                 n_value: float = 0, length: Optional[int] = None, length_mode: str = "pad",
                 revcomp_augment: bool = False, max_train: Optional[int] = None, val_from: str = "carve",
                 target_groups: Any = None, name: Optional[str] = None, task: Optional[str] = None,
                 test_copies: str = "drop") -> None:
        self.seed = int(seed)
        self.val_fraction = float(val_fraction)
        self.split_cfg = {**DEFAULT_SPLIT, **dict(split or {})}
        if self.split_cfg["kind"] not in SPLIT_KINDS:
            raise DataError(f"split.kind must be one of {SPLIT_KINDS}, got {self.split_cfg['kind']!r}",
                            key="split.kind")
        if val_from not in ("carve", "dev"):
            raise DataError(f"val_from must be 'carve' or 'dev', got {val_from!r}", key="val_from")
        if test_copies not in ("drop", "keep"):
            raise DataError(f"test_copies must be 'drop' or 'keep', got {test_copies!r}", key="test_copies")
        self.test_copies = test_copies
        check_length(length)
        self.n_value, self.length, self.length_mode = n_value, length, length_mode
        self.revcomp_augment, self.max_train, self.val_from = bool(revcomp_augment), max_train, val_from
        self.target_groups = target_groups
        if name is not None:
            self.name = name
        if task is not None:
            if task not in ("binary", "regression"):
                raise DataError(f"task must be 'binary' or 'regression', got {task!r}", key="task")
            self.task = task

    # -- subclasses -------------------------------------------------------------------------------
    @abc.abstractmethod
    def _read(self) -> dict[str, RawSeqs]:
        """The dataset's sequences and targets, by split name (``all``, or ``train``/``dev``/``test``)."""

    def _info(self) -> dict[str, Any]:
        return {}

    # -- pipeline ---------------------------------------------------------------------------------
    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream])

    def _derived_groups(self, parts: Mapping[str, RawSeqs]) -> dict[str, Optional[np.ndarray]]:
        """Group label per record of each part. k-mer groups are computed over every part at once: a
        point mutant in the test file must join its promoter in the train file, and the labels (component
        numbers) mean the same group in every part."""
        cfg = self.split_cfg
        if cfg.get("group_regex"):
            return {role: groups_from_regex(raw.ids, cfg["group_regex"]) for role, raw in parts.items()}
        if cfg.get("group_kmer"):
            for raw in parts.values():
                if raw.seqs is None:
                    raise DataError("split.group_kmer needs sequences as text (not one-hot arrays)", raw.source,
                                    key="split.group_kmer")
            labels = groups_from_shared_kmers([s for raw in parts.values() for s in raw.seqs], int(cfg["group_kmer"]))
            out, start = {}, 0
            for role, raw in parts.items():
                out[role] = labels[start:start + len(raw.seqs)]
                start += len(raw.seqs)
            return out
        return {role: raw.groups for role, raw in parts.items()}

    def _encode(self, raw: RawSeqs, length: Optional[int], groups: Optional[np.ndarray]) -> _Part:
        if raw.x is not None:
            x = raw.x
            if length is not None and x.shape[2] != length:
                x = _fit_array(x, length, self.length_mode, raw.source)
        else:
            segments = raw.extra.get("segments") or [(raw.source, len(raw))]  # one per file of the pool
            chunks, start = [], 0
            for source, count in segments:
                chunks.append(one_hot(raw.seqs[start:start + count], self.n_value, length, self.length_mode, source,
                                      raw.lines[start:start + count]))
                start += count
            x = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return _Part(x, raw.y.astype(np.float32), np.asarray(raw.ids).astype(str), groups)

    def _check_task(self, raw: RawSeqs) -> None:
        """A binary task's targets must be 0/1; the error names the file of the pool and the record's line."""
        if self.task == "binary":
            bad = ~np.isin(raw.y, (0.0, 1.0))
            if bad.any():
                row = int(np.argwhere(bad)[0][0])
                source, line = record_origin(raw, row)
                raise DataError(f"binary task but target {raw.y[row].tolist()} is not 0/1 (record {raw.ids[row]})",
                                source, line)

    def load(self) -> DataBundle:
        parts = self._read()
        target_names = next(iter(parts.values())).target_names
        if self.target_groups is not None:
            spec = load_group_spec(self.target_groups, target_names, self.base)
            given = self.target_groups
            source = (str(given) if isinstance(given, (str, os.PathLike)) else
                      f"target_groups {given['path']}" if isinstance(given, Mapping) and "path" in given else
                      "target_groups")
            for raw in parts.values():
                raw.y, names = group_targets(raw.y, raw.target_names, spec, source=source)
                raw.target_names = names
            target_names = names
        # one length for every part
        length = self.length
        if length is None:
            lens = set()
            for raw in parts.values():
                if raw.x is not None:
                    lens.add(raw.x.shape[2])
                else:
                    lens.update({min(map(len, raw.seqs)), max(map(len, raw.seqs))})
            if len(lens) > 1:
                length = max(lens)
        groups = self._derived_groups(parts)
        for raw in parts.values():
            self._check_task(raw)
        enc = {role: self._encode(raw, length, groups[role]) for role, raw in parts.items()}

        cfg = self.split_cfg
        kind = cfg["kind"]
        val = None
        dropped_copies = 0
        if self.val_from == "dev" and (kind != "fixed" or "dev" not in enc):
            why = (f"split.kind={kind} pools every file before splitting" if kind != "fixed"
                   else "the dataset has no dev file")
            raise DataError(f"{self.name}: val_from=dev needs split.kind=fixed and a dev file ({why}); "
                            "use val_from=carve to carve validation from training", key="val_from")
        if kind == "fixed":
            if "test" not in enc:
                raise DataError(f"{self.name} has no fixed test file: use split.kind=random, grouped or kfold",
                                key="split.kind")
            test = enc["test"]
            train_parts = [enc[r] for r in ("train", "all") if r in enc]
            if "dev" in enc:
                if self.val_from == "dev":
                    val = enc["dev"]
                else:
                    train_parts.append(enc["dev"])
            if not train_parts:
                raise DataError(f"{self.name} has a test file but no training data", key="split.kind")
            train = _Part.concat(train_parts) if len(train_parts) > 1 else train_parts[0]
            if self.test_copies == "drop":
                train, dropped_copies = _without_test_copies(train, test)
                if val is not None:
                    val, from_val = _without_test_copies(val, test)
                    dropped_copies += from_val
            if dropped_copies:
                log.warning("%s: %d training/validation record(s) are exact copies of test sequences and were left out "
                            "of training and validation (the test file stays whole)", self.name, dropped_copies)
            split_desc = "fixed test file"
        else:
            pool = _Part.concat([enc[r] for r in ("train", "all", "dev", "test") if r in enc])
            rng = self._rng(1)
            if kind == "kfold":
                tr, te = kfold_split(len(pool.y), int(cfg["k"]), int(cfg["fold"]), rng, pool.groups)
                split_desc = f"{cfg['k']}-fold cross-validation, fold {cfg['fold']}"
            else:
                if kind == "grouped" and pool.groups is None:
                    raise DataError("split.kind=grouped needs split.group_regex (on ids) or split.group_kmer",
                                    key="split.group_regex")
                tr, te = random_split(len(pool.y), float(cfg["test_fraction"]), rng, pool.groups)
                split_desc = f"{kind} split, test_fraction={cfg['test_fraction']}"
            train, test = pool.take(tr), pool.take(te)
        if val is None:
            rest, held = random_split(len(train.y), self.val_fraction, self._rng(2), train.groups)
            train, val = train.take(rest), train.take(held)
        grouped = "" if train.groups is None else " (held out as whole groups)"
        if not len(val.y) or not len(train.y):
            raise DataError(f"{self.name}: carving val_fraction={self.val_fraction} from {len(train.y) + len(val.y)} "
                            f"training records{grouped} leaves {len(train.y)} for training and {len(val.y)} for "
                            "validation; both need records", key="val_fraction")
        if test is not None and not len(test.y):
            raise DataError(f"{self.name}: the test split is empty ({split_desc})",
                            key={"kfold": "split.k", "fixed": "test"}.get(kind, "split.test_fraction"))
        if self.max_train is not None and len(train.y) > int(self.max_train):
            keep = np.sort(self._rng(3).choice(len(train.y), int(self.max_train), replace=False))
            train = train.take(keep)
        if self.revcomp_augment:
            rc = _Part(reverse_complement(train.x), train.y, np.char.add(train.ids.astype(str), "_rc"), train.groups)
            train = _Part.concat([train, rc])
        if kind != "fixed" and _shared_groups(train, test):
            raise DataError("a group straddles train and test (internal error)")
        info = {"split": split_desc, "seed": self.seed, "n_train": len(train.y), "n_val": len(val.y),
                **({"dropped_copies_of_test": dropped_copies} if dropped_copies else {}),
                "n_test": 0 if test is None else len(test.y), "sources": sorted({p.source for p in parts.values()}),
                **self._info()}
        return DataBundle(train=train.split(), val=val.split(), test=None if test is None else test.split(),
                          task=self.task, target_names=list(target_names), name=self.name, info=info)


def _without_test_copies(part: _Part, test: _Part) -> "tuple[_Part, int]":
    """``part`` without the records whose encoded sequence equals a test record's: a fixed test file
    must be held out, and a copy of a test sequence in training (the DREAM samples of the DeepSTARR and
    human sets hold a few) would make part of the test score in-sample."""
    if not len(test.x) or not len(part.x):
        return part, 0
    held = {row.tobytes() for row in np.ascontiguousarray(test.x)}
    keep = np.array([row.tobytes() not in held for row in np.ascontiguousarray(part.x)])
    return (part, 0) if keep.all() else (part.take(np.flatnonzero(keep)), int((~keep).sum()))


def _shared_groups(a: _Part, b: _Part) -> bool:
    if a.groups is None or b.groups is None:
        return False
    ga, gb = set(np.asarray(a.groups).astype(str).tolist()), set(np.asarray(b.groups).astype(str).tolist())
    return bool(ga & gb)


def _fit_array(x: np.ndarray, length: int, mode: str, source: str) -> np.ndarray:
    n, _, cur = x.shape
    if cur == length:
        return x
    if cur > length:
        if mode == "pad":
            raise DataError(f"sequences of length {cur} are longer than length={length} with length_mode=pad",
                            source, key="length")
        start = 0 if mode == "trim" else (cur - length) // 2
        return np.ascontiguousarray(x[:, :, start:start + length])
    out = np.zeros((n, 4, length), dtype=x.dtype)
    left = (length - cur) // 2 if mode == "centre" else 0
    out[:, :, left:left + cur] = x
    return out


__all__ = ["SequenceDataset", "fit_length"]
