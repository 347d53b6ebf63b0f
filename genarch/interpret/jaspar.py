"""JASPAR CORE, offline: pyjaspar ships the JASPAR sqlite database of every release.

:func:`load_core` returns the target set for TOMTOM: the latest version of every matrix in the CORE
collection of one release, optionally one taxonomic group (the ENCODE experiments are human, so
``vertebrates`` is the default; ``all`` keeps every group). Each motif keeps its TF family and class
so a match can be judged at the family level (:mod:`genarch.interpret.tfnames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np

DEFAULT_RELEASE = "JASPAR2026"  # pyjaspar's default, the release genarch.data plants motifs from
DEFAULT_TAX_GROUP = "vertebrates"


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


def releases() -> list[str]:
    from pyjaspar import jaspardb

    return list(jaspardb().get_releases())


@lru_cache(maxsize=8)
def load_core(release: str = DEFAULT_RELEASE, tax_group: Optional[str] = DEFAULT_TAX_GROUP) -> tuple[JasparMotif, ...]:
    """Latest version of every CORE matrix of ``release`` (e.g. ``JASPAR2024``), one taxonomic group
    (``vertebrates``, ``insects``, ``plants``, ...; ``None`` or ``all`` for every group)."""
    from pyjaspar import jaspardb

    available = releases()
    if release not in available:
        raise ValueError(f"unknown JASPAR release {release!r}; pyjaspar ships {', '.join(available)}")
    db = jaspardb(release=release)
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
