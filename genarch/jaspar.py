"""JASPAR, offline: pyjaspar ships the JASPAR sqlite database of every release. The one wrapper of pyjaspar.

* :func:`fetch_motif`: one matrix by ID, as base probabilities ``(L, 4)`` -- the motifs the embedded
  synthetic data plants (:mod:`genarch.data.synthetic`), with :func:`sample_instances` and :func:`revcomp_codes`;
* :func:`load_core`: the target set for TOMTOM -- the latest version of every matrix in the CORE collection
  of one release, optionally one taxonomic group (the ENCODE experiments are human, so ``vertebrates`` is
  the default; ``all`` keeps every group), ``(4, L)`` each, with its TF family and class so a match can be
  judged at the family level (:mod:`genarch.interpret.tfnames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np

DEFAULT_RELEASE = "JASPAR2026"  # pyjaspar's default, the release genarch.data plants motifs from
DEFAULT_TAX_GROUP = "vertebrates"


@lru_cache(maxsize=8)
def database(release: Optional[str] = None):
    """pyjaspar's database of ``release`` (None: pyjaspar's default, :data:`DEFAULT_RELEASE`)."""
    try:
        from pyjaspar import jaspardb
    except ImportError as err:  # pragma: no cover - pyjaspar is a dependency
        from genarch.data.errors import DataError

        raise DataError("pyjaspar is not installed (pip install pyjaspar)") from err
    return jaspardb() if release is None else jaspardb(release=release)


def releases() -> list[str]:
    return list(database().get_releases())


# ---- one matrix, for planting motifs ----------------------------------------------------------------
@dataclass(frozen=True)
class Motif:
    matrix_id: str
    name: str
    pfm: np.ndarray  # float (L, 4) base probabilities, columns A, C, G, T
    release: str

    @property
    def length(self) -> int:
        return int(self.pfm.shape[0])

    @property
    def consensus(self) -> str:
        return "".join("ACGT"[i] for i in self.pfm.argmax(axis=1))


@lru_cache(maxsize=256)
def fetch_motif(matrix_id: str, pseudocount: float = 0.0) -> Motif:
    """Motif by JASPAR matrix ID (e.g. ``MA0139.2``); a bare base ID (``MA0139``) takes the latest version."""
    from genarch.data.errors import DataError

    db = database()
    motif = db.fetch_motif_by_id(matrix_id)
    if motif is None:
        raise DataError(f"JASPAR has no matrix {matrix_id!r} (release {db.release})", key="motif")
    counts = np.array([motif.counts[b] for b in "ACGT"], dtype=np.float64).T + pseudocount
    pfm = counts / counts.sum(axis=1, keepdims=True)
    return Motif(f"{motif.base_id}.{motif.version}" if getattr(motif, "version", None) else matrix_id,
                 motif.name, pfm, str(db.release))


def sample_instances(motif: Motif, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` sequences drawn position by position from the motif's base distribution: codes ``(n, L)``."""
    cum = np.cumsum(motif.pfm, axis=1)
    cum[:, -1] = 1.0
    u = rng.random((n, motif.length, 1))
    return (u > cum[None, :, :]).sum(axis=2).astype(np.uint8)


def revcomp_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of codes 0-3 (A, C, G, T) along the last axis."""
    return (3 - codes[..., ::-1]).astype(np.uint8)


# ---- JASPAR CORE, for matching -----------------------------------------------------------------------
@dataclass(frozen=True)
class JasparMotif:
    matrix_id: str
    name: str
    pfm: np.ndarray                 # (4, L) probabilities, rows A, C, G, T
    tf_family: tuple[str, ...]
    tf_class: tuple[str, ...]
    release: str

    @property
    def base_id(self) -> str:
        return self.matrix_id.split(".")[0]

    @property
    def length(self) -> int:
        return int(self.pfm.shape[1])


@lru_cache(maxsize=8)
def load_core(release: str = DEFAULT_RELEASE, tax_group: Optional[str] = DEFAULT_TAX_GROUP) -> tuple[JasparMotif, ...]:
    """Latest version of every CORE matrix of ``release`` (e.g. ``JASPAR2024``), one taxonomic group
    (``vertebrates``, ``insects``, ``plants``, ...; ``None`` or ``all`` for every group)."""
    available = releases()
    if release not in available:
        raise ValueError(f"unknown JASPAR release {release!r}; pyjaspar ships {', '.join(available)}")
    db = database(release)
    kwargs = {"collection": "CORE", "all_versions": False}
    if tax_group and tax_group != "all":
        kwargs["tax_group"] = [tax_group]
    motifs = []
    for m in db.fetch_motifs(**kwargs):
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
        # JASPAR's count matrices have no zero-sum columns; a tiny pseudocount avoids log(0) downstream
        counts = counts + 1e-3
        motifs.append(JasparMotif(m.matrix_id, m.name, counts / counts.sum(axis=0, keepdims=True),
                                  tuple(m.tf_family or ()), tuple(m.tf_class or ()), release))
    if not motifs:
        raise ValueError(f"JASPAR {release} CORE has no motifs for tax_group={tax_group!r}")
    return tuple(motifs)
