"""Target grouping: average target columns into groups (e.g. 81 or 243 ImmGen cell types -> lineages)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from genarch.data.errors import DataError


def group_targets(y: np.ndarray, names: Sequence[str], groups: Union[Mapping[str, str], Sequence[Optional[str]]],
                  source: str = "target_groups", drop_ungrouped: bool = True) -> tuple[np.ndarray, list[str]]:
    """Average columns of ``y`` by group.

    ``groups`` is either a mapping ``column name -> group`` or a sequence with one group name per
    column (``None``/``""``/``"nan"`` leaves the column out). Groups keep their first-appearance order.
    Columns not in the mapping are dropped (``drop_ungrouped``) or an error.
    """
    names = [str(n) for n in names]
    if isinstance(groups, Mapping):
        groups = {str(k): v for k, v in groups.items()}  # YAML {1: a} names the header-less column "1"
        unknown = [k for k in groups if str(k) not in names]
        if unknown:
            raise DataError(f"target_groups names unknown column {unknown[0]!r}; columns are {names[:10]}...",
                            source, key=str(unknown[0]))
        labels = [groups.get(n) for n in names]
        if not drop_ungrouped and any(lbl is None for lbl in labels):
            missing = names[labels.index(None)]
            raise DataError(f"column {missing!r} has no group", source, key=missing)
    else:
        labels = list(groups)
        if len(labels) != len(names):
            raise DataError(f"{len(labels)} group labels for {len(names)} target columns", source)
    clean = [None if lbl is None or str(lbl).strip().lower() in ("", "nan", "none") else str(lbl) for lbl in labels]
    order: list[str] = []
    for lbl in clean:
        if lbl is not None and lbl not in order:
            order.append(lbl)
    if not order:
        raise DataError("no target column belongs to a group", source)
    out = np.empty((len(y), len(order)), dtype=np.float32)
    for j, g in enumerate(order):
        cols = [i for i, lbl in enumerate(clean) if lbl == g]
        out[:, j] = y[:, cols].mean(axis=1)
    return out, order


def load_group_spec(spec, names: Sequence[str], base: Optional[Path] = None):
    """Resolve a grouping config: a mapping, a list, or a path to a .npy (names array; ``column`` picks
    the group column of a 2-D array) / CSV / TSV (``column,group``) table."""
    if spec is None or isinstance(spec, (list, tuple)):
        return spec
    if isinstance(spec, Mapping) and "path" not in spec:
        return dict(spec)
    path = Path(spec["path"] if isinstance(spec, Mapping) else spec)
    if base is not None and not path.is_absolute():
        path = base / path
    from genarch.data.readers import load_npy, read_text

    if path.suffix == ".npy":
        arr = load_npy(path, allow_pickle=True)  # object array of names; only ever used on files you chose
        col = spec.get("column", -1) if isinstance(spec, Mapping) else -1
        return list(arr[:, col] if arr.ndim == 2 else arr)
    import csv

    text = read_text(path)
    sep = "," if ".csv" in [s.lower() for s in path.suffixes] else "\t"
    mapping: dict[str, str] = {}
    first: dict[str, int] = {}
    for number, parts in enumerate(csv.reader(text.split("\n"), delimiter=sep), start=1):
        if not any(p.strip() for p in parts):
            continue
        if len(parts) < 2:
            raise DataError(f"expected 'column{sep}group', got {sep.join(parts)!r}", path, number)
        column = parts[0].strip()
        if number == 1 and column not in names:  # a header row (column,group / target,lineage / ...)
            continue
        if column not in names:
            raise DataError(f"unknown target column {column!r}; columns are {list(names)[:10]}...", path, number,
                            key=column)
        if column in first:
            raise DataError(f"column {column!r} is given a group twice (first on line {first[column]})", path, number)
        first[column] = number
        mapping[column] = parts[1].strip()
    return mapping
