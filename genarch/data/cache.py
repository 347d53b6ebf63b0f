"""Cache of generated data, keyed by the generator's parameters and seed.

Directory: the ``cache_dir`` argument, else ``$GENARCH_CACHE``, else ``~/.cache/genarch``.
Files are written to a temporary name and renamed, so a reader never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from genarch.io import atomic_write_bytes


def cache_dir(override: Union[str, Path, None] = None) -> Path:
    path = override or os.environ.get("GENARCH_CACHE") or Path.home() / ".cache" / "genarch"
    path = Path(os.path.expanduser(str(path)))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_arrays(path: Path) -> Optional[dict[str, np.ndarray]]:
    """The arrays in ``path``, or None when it is missing or unreadable (then it is regenerated)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception:
        return None
