"""Real JASPAR motifs, offline: pyjaspar ships the JASPAR sqlite database inside the package."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from genarch.data.errors import DataError


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


@lru_cache(maxsize=1)
def _db():
    try:
        from pyjaspar import jaspardb
    except ImportError as err:  # pragma: no cover - pyjaspar is a dependency
        raise DataError("pyjaspar is not installed (pip install pyjaspar)") from err
    return jaspardb()


@lru_cache(maxsize=256)
def fetch_motif(matrix_id: str, pseudocount: float = 0.0) -> Motif:
    """Motif by JASPAR matrix ID (e.g. ``MA0139.2``); a bare base ID (``MA0139``) takes the latest version."""
    db = _db()
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
