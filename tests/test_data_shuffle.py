"""Dinucleotide shuffle (Altschul-Erickson): exact counts, seeded determinism."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genarch.data.shuffle import dinuc_shuffle, dinuc_shuffle_many, dinucleotide_counts


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ACGTN", min_size=0, max_size=150), st.integers(0, 2**32 - 1))
def test_preserves_dinucleotide_counts_and_ends(seq, seed):
    out = dinuc_shuffle(seq, seed)
    assert len(out) == len(seq)
    assert dinucleotide_counts(out) == dinucleotide_counts(seq)
    if seq:
        assert out[0] == seq[0] and out[-1] == seq[-1]
    assert dinuc_shuffle(seq, seed) == out  # same seed, same shuffle


@pytest.mark.parametrize("seq", ["", "A", "AC", "AAAA", "ACACACAC"])
def test_forced_cases(seq):
    # these sequences have exactly one Eulerian path: the shuffle must return them unchanged
    assert dinuc_shuffle(seq, 1) == seq


def test_many_is_seeded_and_actually_shuffles():
    rng = random.Random(0)
    seqs = ["".join(rng.choice("ACGT") for _ in range(101)) for _ in range(200)]
    a, b, c = dinuc_shuffle_many(seqs, 7), dinuc_shuffle_many(seqs, 7), dinuc_shuffle_many(seqs, 8)
    assert a == b and a != c
    assert sum(x != y for x, y in zip(seqs, a)) >= 195
    assert all(dinucleotide_counts(x) == dinucleotide_counts(y) for x, y in zip(seqs, a))


def test_reaches_every_eulerian_path():
    # ACGACTA: paths from A ending at A using edges AC, CG, GA, AC, CT, TA -> exactly 2 distinct sequences
    outs = {dinuc_shuffle("ACGACTA", s) for s in range(200)}
    assert outs == {"ACGACTA", "ACTACGA"}


# ---- equal in distribution: uniform over every sequence with the same dinucleotide counts ----------------
# Altschul & Erickson's shuffle draws uniformly among the Eulerian paths of the sequence's dinucleotide
# multigraph that start at its first letter. On short sequences every such path can be enumerated, so the
# shuffle's distribution is compared with the uniform one exactly (chi-square, fixed seeds: deterministic),
# and, where the maintained uShuffle (Jiang et al. 2008; PyPI `ushuffle`) is installed, with uShuffle's.

import collections  # noqa: E402

from scipy.stats import chi2_contingency, chisquare  # noqa: E402


def all_shuffles(seq: str) -> set[str]:
    """Every sequence with ``seq``'s first letter and dinucleotide counts (depth-first over the Eulerian paths)."""
    edges = collections.Counter(zip(seq, seq[1:]))
    out: set[str] = set()

    def walk(v: str, path: list[str]) -> None:
        if len(path) == len(seq):
            out.add("".join(path))
            return
        for (a, b), n in list(edges.items()):
            if a == v and n:
                edges[(a, b)] -= 1
                path.append(b)
                walk(b, path)
                path.pop()
                edges[(a, b)] += 1

    walk(seq[0], [seq[0]])
    return out


def _fixed_last_edge_shuffle(seq: str, rng: random.Random) -> str:
    """A plausible but wrong shuffle (each letter's last successor kept as in the input): not uniform."""
    edges: dict[str, list[str]] = {}
    for a, b in zip(seq, seq[1:]):
        edges.setdefault(a, []).append(b)
    for out in edges.values():
        head = out[:-1]
        rng.shuffle(head)
        out[:-1] = head
    position = {v: 0 for v in edges}
    result, v = [seq[0]], seq[0]
    for _ in range(len(seq) - 1):
        i = position[v]
        position[v] = i + 1
        v = edges[v][i]
        result.append(v)
    return "".join(result)


def _counts(draws: list[str], support: list[str]) -> list[int]:
    tally = collections.Counter(draws)
    assert set(tally) <= set(support)  # every draw is a valid shuffle
    return [tally[s] for s in support]


@pytest.mark.parametrize("seq,n", [("ACGTACGGTACCA", 18_000), ("ACGTTGCAACGTAGC", 43_200)])
def test_uniform_over_every_eulerian_path(seq, n):
    support = sorted(all_shuffles(seq))
    assert len(support) in (18, 432)
    rng = random.Random(0)
    counts = _counts([dinuc_shuffle(seq, rng) for _ in range(n)], support)
    assert min(counts) > 0  # every path is reached
    assert chisquare(counts).pvalue > 1e-3, counts


def test_the_uniformity_check_rejects_a_biased_shuffle():
    seq = "ACGTTGCAACGTAGC"
    support = sorted(all_shuffles(seq))
    rng = random.Random(0)
    counts = _counts([_fixed_last_edge_shuffle(seq, rng) for _ in range(43_200)], support)
    assert min(counts) == 0 or chisquare(counts).pvalue < 1e-6


@pytest.mark.parametrize("seq,n", [("ACGTACGGTACCA", 18_000), ("ACGTTGCAACGTAGC", 43_200)])
def test_same_distribution_as_ushuffle(seq, n):
    ushuffle = pytest.importorskip("ushuffle", reason="uShuffle not installed (see genarch/data/shuffle.py)")
    ushuffle.set_seed(1)
    theirs = [ushuffle.shuffle(seq.encode(), 2).decode() for _ in range(n)]
    rng = random.Random(1)
    ours = [dinuc_shuffle(seq, rng) for _ in range(n)]
    support = sorted(all_shuffles(seq))
    a, b = _counts(ours, support), _counts(theirs, support)
    assert chisquare(b).pvalue > 1e-3  # uShuffle itself is uniform here
    assert chi2_contingency([a, b]).pvalue > 1e-3, (a, b)
