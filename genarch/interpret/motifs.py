"""Motifs read out of attended windows, as the paper did (Sec. 4.1): for the top N sequences take
the k bases around the position of highest attention, count them into a position frequency matrix
(PFM), and find the most recurring k-mers in those windows.

Windows that would run past a sequence end are shifted inside it (so every window has k bases);
bases that are ``N`` (all-one or all-zero one-hot columns) add nothing to the counts.
K-mers are counted on both strands as one (a k-mer and its reverse complement are the same site), at
most once per window, and reported in the orientation seen most often.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from genarch.interpret.alignment import align_windows, seed_counts
from genarch.interpret.windows import BASES, extract_windows, window_starts  # noqa: F401 - part of this API

_COMPLEMENT = str.maketrans("ACGT", "TGCA")


@dataclass
class Motif:
    """A PFM ``(k, 4)`` (columns A, C, G, T; rows sum to 1) with the counts it came from."""

    name: str
    counts: np.ndarray
    source: str = "pfm"                      # pfm (attended windows) or kmer
    n_sites: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def pfm(self) -> np.ndarray:
        totals = self.counts.sum(axis=1, keepdims=True)
        out = np.full(self.counts.shape, 0.25)
        np.divide(self.counts, totals, out=out, where=totals > 0)
        return out

    @property
    def length(self) -> int:
        return int(self.counts.shape[0])

    @property
    def consensus(self) -> str:
        return "".join(BASES[i] for i in self.pfm.argmax(axis=1))

    def information_content(self) -> float:
        """Total information content (bits) against a uniform background."""
        p = self.pfm
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
        return float((2.0 - h).sum())

    def to_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "length": self.length, "n_sites": self.n_sites,
                "consensus": self.consensus, "information_content": round(self.information_content(), 4),
                "counts": self.counts.round(6).tolist(), "pfm": self.pfm.round(6).tolist(), **self.meta}


def window_strings(windows: np.ndarray) -> list[str]:
    """Window strings; a base that is not exactly one-hot is written ``N``."""
    onehot = windows.astype(np.float32)
    call = onehot.argmax(axis=1)
    valid = (onehot.sum(axis=1) == 1)
    letters = np.array(list(BASES + "N"))
    return ["".join(row) for row in letters[np.where(valid, call, 4)]]


def pfm_from_windows(windows: np.ndarray, name: str = "attention_pfm") -> Motif:
    """Count one-hot windows ``(n, 4, k)`` into a :class:`Motif` (only exactly-one-hot columns count)."""
    if len(windows) == 0:
        raise ValueError("no windows to build a PFM from")
    w = windows.astype(np.float64)
    w = w * (w.sum(axis=1, keepdims=True) == 1)
    return Motif(name, w.sum(axis=0).T, "pfm", len(windows))


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


def top_kmers(strings: list[str], kmer_len: int, n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` k-mers of length ``kmer_len`` found in most windows (strands merged, once per window),
    as ``(kmer, windows containing it)``; ties broken alphabetically for reproducibility."""
    if kmer_len < 1:
        raise ValueError(f"kmer_len must be >= 1, got {kmer_len}")
    per_window: Counter[str] = Counter()
    oriented: Counter[str] = Counter()
    for s in strings:
        seen = set()
        for i in range(len(s) - kmer_len + 1):
            kmer = s[i:i + kmer_len]
            if "N" in kmer:
                continue
            oriented[kmer] += 1
            seen.add(min(kmer, reverse_complement(kmer)))
        per_window.update(seen)
    ranked = sorted(per_window.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    out = []
    for canon, count in ranked:
        rc = reverse_complement(canon)
        out.append((canon if oriented[canon] >= oriented[rc] else rc, count))
    return out


def kmer_motif(kmer: str, count: int, rank: int) -> Motif:
    """A k-mer as a one-hot count matrix (weighted by how many windows hold it), for TOMTOM."""
    counts = np.zeros((len(kmer), 4))
    for i, base in enumerate(kmer):
        counts[i, BASES.index(base)] = count
    return Motif(f"kmer{rank}", counts, "kmer", count, {"kmer": kmer})


def select_top(ranking: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` candidates with the highest ``ranking`` (stable: ties keep input order)."""
    candidates = np.asarray(candidates, dtype=int)
    order = np.argsort(-np.asarray(ranking)[candidates], kind="stable")
    return candidates[order[:n]]


@dataclass
class MotifSet:
    """Everything read out for one output: the PFM, the top k-mers and where their windows came from."""

    output: str
    pfm: Motif                      # the paper's PFM: windows as they lie on the forward strand
    kmers: list[Motif]
    aligned: Optional[Motif] = None  # the same windows oriented and centred (genarch.interpret.alignment)
    sequences: list[str] = field(default_factory=list)   # ids of the top sequences used
    window_starts: list[int] = field(default_factory=list)
    windows: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def motifs(self) -> list[Motif]:
        return [self.pfm, *([self.aligned] if self.aligned is not None else []), *self.kmers]


def read_out(x: np.ndarray, peaks: np.ndarray, ids: np.ndarray, chosen: np.ndarray, k: int, kmer_len: int,
             n_kmers: int = 3, output: str = "output", prefix: Optional[str] = None, align: bool = True,
             margin: int = 5) -> MotifSet:
    """Motifs from the windows around ``peaks`` of sequences ``chosen`` (indices into ``x``): the paper's
    PFM, the top k-mers and (``align``) the strand/shift-aligned PFM seeded by the top k-mer."""
    if len(chosen) == 0:
        raise ValueError(f"no sequences to read motifs from for {output!r}")
    windows = extract_windows(x[chosen], peaks[chosen], k)
    strings = window_strings(windows)
    tag = prefix or output
    pfm = pfm_from_windows(windows, f"{tag}:pfm")
    ranked = top_kmers(strings, min(kmer_len, k), n_kmers)
    kmers = [kmer_motif(kmer, count, r + 1) for r, (kmer, count) in enumerate(ranked)]
    for m in kmers:
        m.name = f"{tag}:{m.name}"
    aligned = None
    extra: dict = {}
    if align and kmers:

        result = align_windows(x[chosen], peaks[chosen], k, seed_counts(kmers[0].meta["kmer"], k), margin)
        aligned = Motif(f"{tag}:pfm_aligned", result.counts, "pfm_aligned", len(chosen),
                        {"seed_kmer": kmers[0].meta["kmer"], "iterations": result.iterations,
                         "converged": result.converged})
        extra = {"aligned_starts": result.starts.tolist(), "aligned_strands": result.strands.tolist()}
    return MotifSet(output, pfm, kmers, aligned, [str(i) for i in ids[chosen]],
                    window_starts(peaks[chosen], k, x.shape[2]).tolist(), strings, extra)
