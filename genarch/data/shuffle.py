"""Dinucleotide shuffling that preserves dinucleotide counts exactly (Altschul & Erickson 1985).

The sequence is read as an Eulerian path in the multigraph whose vertices are letters and whose edges
are its dinucleotides. A random Eulerian path with the same first letter uses every edge exactly once,
so it has exactly the same dinucleotide (and letter) counts. Following Altschul & Erickson: choose for
every vertex but the final one a random *last* out-edge such that those last edges form a tree directed
to the final letter (rejecting and redrawing otherwise), randomly permute each vertex's other out-edges,
then walk from the first letter always taking the next unused edge. Seeded: the same seed gives the same
shuffles.

Kept (rather than calling a library) because it is tested equal in distribution to the maintained
uShuffle (Jiang et al. 2008; PyPI ``ushuffle``, whose wheel does not build on Python 3.11 without
regenerating its Cython wrapper, so it is not a dependency): ``tests/test_data_shuffle.py`` enumerates
every Eulerian path of short sequences (18 and 432 of them) and checks by chi-square that this shuffle is
uniform over them, that a plausible biased variant is rejected by the same check, and, where ``ushuffle``
is installed, that the two shuffles' distributions agree (contingency chi-square).
"""

from __future__ import annotations

import random
from typing import Iterable, Union


def _last_edges_form_tree(last_edge: dict, final: str) -> bool:
    for start in last_edge:
        seen = set()
        v = start
        while v != final:
            if v in seen:
                return False
            seen.add(v)
            v = last_edge[v]
    return True


def dinuc_shuffle(seq: str, rng: Union[random.Random, int, None] = None) -> str:
    """One dinucleotide-preserving shuffle of ``seq`` (any alphabet; case-sensitive)."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    n = len(seq)
    if n <= 2:
        return seq
    edges: dict[str, list[str]] = {}
    for a, b in zip(seq, seq[1:]):
        lst = edges.get(a)
        if lst is None:
            edges[a] = [b]
        else:
            lst.append(b)
    final = seq[-1]
    # choose the last out-edge of every vertex except the final one so they form a tree into `final`
    while True:
        last_edge = {v: rng.choice(out) for v, out in edges.items() if v != final}
        if _last_edges_form_tree(last_edge, final):
            break
    for v, out in edges.items():
        if v in last_edge:
            out.remove(last_edge[v])
            rng.shuffle(out)
            out.append(last_edge[v])
        else:
            rng.shuffle(out)
    position = {v: 0 for v in edges}
    result = [seq[0]]
    v = seq[0]
    for _ in range(n - 1):
        i = position[v]
        position[v] = i + 1
        v = edges[v][i]
        result.append(v)
    return "".join(result)


def dinuc_shuffle_many(seqs: Iterable[str], seed: int = 0) -> list[str]:
    """Shuffle each sequence in turn with one generator seeded by ``seed`` (deterministic)."""
    rng = random.Random(seed)
    return [dinuc_shuffle(s, rng) for s in seqs]


def dinucleotide_counts(seq: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for i in range(len(seq) - 1):
        d = seq[i:i + 2]
        counts[d] = counts.get(d, 0) + 1
    return counts
