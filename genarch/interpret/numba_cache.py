"""Persistent numba cache for memelite's TOMTOM.

memelite compiles its TOMTOM kernels with ``numba.njit(cache=True)``; the first call costs about a
minute on a 2-core machine. numba writes the compiled code next to the package (often not writable)
unless ``NUMBA_CACHE_DIR`` is set, and it reads that variable once, at import. So genarch sets it to a
per-user folder (``~/.cache/genarch/numba``, or ``$GENARCH_NUMBA_CACHE``) *before* memelite (and
numba) are imported, unless the user already chose a folder. Later runs load the compiled code.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DIR = Path("~/.cache/genarch/numba")


def ensure_numba_cache_dir() -> Path:
    """Set ``NUMBA_CACHE_DIR`` if unset (and create the folder); return the folder in effect."""
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if not chosen:
        chosen = os.environ.get("GENARCH_NUMBA_CACHE") or str(DEFAULT_DIR.expanduser())
        os.environ["NUMBA_CACHE_DIR"] = chosen
    path = Path(chosen).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # an unwritable cache only costs compile time; numba warns on its own
        pass
    return path


def numba_imported_before() -> bool:
    """Whether numba was imported before genarch could set its cache folder (then it is too late)."""
    import sys

    return "numba" in sys.modules and "NUMBA_CACHE_DIR" not in os.environ
