"""Interpretation of trained models (Genetic Architect, Sec. 4): attention maps, motifs read out of
attention (or an attribution method), TOMTOM matches to JASPAR CORE, logos, and a report.

``python -m genarch.interpret <run_dir>`` runs everything; see docs/interpretation.md.
"""

from genarch.interpret.numba_cache import ensure_numba_cache_dir

ensure_numba_cache_dir()  # before anything imports numba (memelite's TOMTOM)
