"""Resolving configured paths: ``~`` and env vars expanded; relative paths against the launch directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union


def resolve_path(path: Union[str, Path], base: Union[str, Path, None] = None) -> Path:
    """Absolute path. Relative ``path`` is joined to ``base`` when given, else resolved against the
    directory the program was started from (Hydra's original cwd when a Hydra app is running)."""
    p = Path(os.path.expandvars(os.path.expanduser(str(path))))
    if p.is_absolute():
        return p
    if base is not None:
        return (resolve_path(base) / p).resolve()
    try:
        from hydra.utils import to_absolute_path

        return Path(to_absolute_path(str(p))).resolve()
    except Exception:  # hydra missing or not initialised the way to_absolute_path expects
        return (Path.cwd() / p).resolve()
