"""Is a JASPAR match the transcription factor that was ChIP'd, or one of its family?

TF names are compared case-insensitively after normalisation (``c-Myc`` = ``MYC``, ``USF-1`` =
``USF1``, JASPAR's ``(var.2)`` suffixes dropped), with a few ENCODE antibody aliases (``NRSF`` ->
``REST``, ``GABP`` -> ``GABPA``, ``Pol2`` -> ``POLR2A``). JASPAR dimers (``FOS::JUN``) and a ChIP'd
name given as a dimer count as the TF when any component matches. The family level uses JASPAR's
``tf_family`` annotation: a match is ``family`` when the matched motif shares a family with a JASPAR
matrix of the ChIP'd TF itself (its monomer or homodimer matrices: a heterodimer such as
``FOXO1::ELK1`` lists its partner's family too, which is not the TF's); ``class`` likewise with
``tf_class`` (broader, reported but not counted as a family match). A TF that JASPAR has only as a
heterodimer has no family of its own here, so its matches are ``tf`` or ``none``.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence

from genarch.jaspar import JasparMotif

ALIASES = {"NRSF": "REST", "GABP": "GABPA", "CMYC": "MYC", "POL2": "POLR2A", "POLII": "POLR2A",
           "PU1": "SPI1", "AP2ALPHA": "TFAP2A", "AP2GAMMA": "TFAP2C", "NFKB": "NFKB1", "CEBPB": "CEBPB"}
LEVELS = ("tf", "family", "class", "none")


def normalise(name: str) -> str:
    """``'c-Myc'`` -> ``'MYC'``; ``'ZNF384(var.2)'`` -> ``'ZNF384'``."""
    bare = re.sub(r"\(var\.\d+\)", "", name).strip().upper()
    bare = re.sub(r"[^A-Z0-9]", "", bare)
    if bare.startswith("C") and bare[1:] in ("MYC", "JUN", "FOS", "MYB", "REL"):
        bare = bare[1:]
    return ALIASES.get(bare, bare)


def components(name: str) -> set[str]:
    """Normalised TF names of a (possibly dimeric, ``A::B``) motif or ChIP target name."""
    return {normalise(part) for part in re.split(r"::|\+|/", name) if part.strip()}


def tf_from_experiment(experiment: str) -> str:
    """The ChIP'd TF of a DeepBind/ENCODE experiment name: its first ``_`` field (``SP1_GM12878_SP1_...``)."""
    return experiment.split("_", 1)[0]


def motifs_of_tf(tf: str, database: Sequence[JasparMotif]) -> list[JasparMotif]:
    wanted = components(tf)
    return [m for m in database if components(m.name) & wanted]


def own_motifs(tf: str, database: Sequence[JasparMotif]) -> list[JasparMotif]:
    """The TF's own matrices: every component is the TF (``ELK1``, ``FOS::FOS``), not a partner."""
    wanted = components(tf)
    return [m for m in database if components(m.name) <= wanted]


def match_level(tf: Optional[str], motif: JasparMotif, database: Sequence[JasparMotif]) -> str:
    """``tf``, ``family``, ``class`` or ``none``: how the matched ``motif`` relates to the ChIP'd ``tf``."""
    if not tf:
        return "none"
    if components(tf) & components(motif.name):
        return "tf"
    own = own_motifs(tf, database)
    families = _annotations(m.tf_family for m in own)
    if families & _annotations([motif.tf_family]):
        return "family"
    classes = _annotations(m.tf_class for m in own)
    if classes & _annotations([motif.tf_class]):
        return "class"
    return "none"


def _annotations(groups: Iterable[Iterable[str]]) -> set[str]:
    return {a.strip().lower() for group in groups for a in group if a and a.strip()}
