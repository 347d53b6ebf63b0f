"""Index splits: random, grouped (groups never straddle), k-fold, and the validation carve-out."""

from __future__ import annotations

import re
from typing import Optional, Sequence

import numpy as np

from genarch.data.errors import DataError

SPLIT_KINDS = ("fixed", "random", "grouped", "kfold")


def groups_from_regex(ids: Sequence[str], pattern: str) -> np.ndarray:
    """Group label per id: the first capture group of ``pattern`` (or the whole match); ids that do not
    match form their own singleton group."""
    rx = re.compile(pattern)
    out = []
    for ident in ids:
        m = rx.search(str(ident))
        out.append((m.group(1) if m.groups() else m.group(0)) if m else f"\x00{ident}")
    return np.array(out, dtype=object)


def groups_from_shared_kmers(seqs: Sequence[str], k: int = 20) -> np.ndarray:
    """Connected components of sequences that share any ``k``-mer outside the flanks common to all of
    them: overlapping tiles and point mutants of one promoter land in one group. A sequence whose
    variable core is shorter than ``k`` is keyed by the whole core, so exact duplicates (replicate
    measurements of one oligo) still share a group."""
    if not seqs:
        return np.zeros(0, dtype=np.int64)
    first, last = min(seqs), max(seqs)
    prefix = 0
    while prefix < min(len(first), len(last)) and first[prefix] == last[prefix]:
        prefix += 1
    rf, rl = min(s[::-1] for s in seqs), max(s[::-1] for s in seqs)
    suffix = 0
    while suffix < min(len(rf), len(rl)) and rf[suffix] == rl[suffix]:
        suffix += 1
    parent = list(range(len(seqs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, s in enumerate(seqs):
        core = s[prefix: len(s) - suffix].upper().strip("N")
        keys = [core[j:j + k] for j in range(len(core) - k + 1)] or ["\x00" + core]
        for kmer in keys:
            o = owner.setdefault(kmer, i)
            if o != i:
                a, b = find(i), find(o)
                if a != b:
                    parent[a] = b
    roots = np.array([find(i) for i in range(len(seqs))])
    _, labels = np.unique(roots, return_inverse=True)
    return labels


def _group_index(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    return uniq, inverse


def random_split(n: int, fraction: float, rng: np.random.Generator, groups: Optional[np.ndarray] = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(rest, held) index arrays; ``held`` takes about ``fraction`` of the records. With ``groups``, whole
    groups are held out until the fraction is reached, so no group is on both sides."""
    if not 0 <= fraction < 1:
        raise DataError(f"fraction must be in [0, 1), got {fraction}", key="fraction")
    if groups is None:
        perm = rng.permutation(n)
        n_held = int(round(n * fraction))
        if fraction > 0 and n_held == 0 and n > 1:
            n_held = 1
        return np.sort(perm[n_held:]), np.sort(perm[:n_held])
    _, inverse = _group_index(groups)
    n_groups = inverse.max() + 1 if n else 0
    sizes = np.bincount(inverse, minlength=n_groups)
    order = rng.permutation(n_groups)
    cum = np.cumsum(sizes[order])
    target = n * fraction
    n_take = int(np.searchsorted(cum, target, side="left")) + (1 if target > 0 else 0)
    n_take = min(n_take, n_groups - 1) if n_groups > 1 else 0
    held_groups = np.zeros(n_groups, dtype=bool)
    held_groups[order[:n_take]] = True
    held = held_groups[inverse]
    return np.flatnonzero(~held), np.flatnonzero(held)


def kfold_split(n: int, k: int, fold: int, rng: np.random.Generator, groups: Optional[np.ndarray] = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) for fold ``fold`` of ``k``: the k test folds partition the records (groups kept
    whole when given), so running every fold predicts each record out of sample exactly once."""
    if k < 2:
        raise DataError(f"split.k must be at least 2, got {k}", key="split.k")
    if not 0 <= fold < k:
        raise DataError(f"split.fold must be in 0..{k - 1}, got {fold}", key="split.fold")
    if groups is None:
        if n < k:
            raise DataError(f"{n} records cannot make {k} folds (a test fold would be empty)", key="split.k")
        assignment = np.empty(n, dtype=np.int64)
        assignment[rng.permutation(n)] = np.arange(n) % k
    else:
        _, inverse = _group_index(groups)
        n_groups = inverse.max() + 1 if n else 0
        if n_groups < k:
            raise DataError(f"{n_groups} groups cannot make {k} folds", key="split.k")
        sizes = np.bincount(inverse, minlength=n_groups)
        # largest groups first into the currently smallest fold (random tie-break): balanced folds
        order = rng.permutation(n_groups)
        order = order[np.argsort(-sizes[order], kind="stable")]
        load = np.zeros(k)
        group_fold = np.empty(n_groups, dtype=np.int64)
        for g in order:
            f = int(np.argmin(load + rng.random(k) * 1e-9))
            group_fold[g] = f
            load[f] += sizes[g]
        assignment = group_fold[inverse]
    test = assignment == fold
    return np.flatnonzero(~test), np.flatnonzero(test)
