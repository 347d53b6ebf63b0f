"""The one exception type for bad input data: it names the file and the line or key at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union


class DataError(ValueError):
    """Bad input data. ``str(err)`` reads ``<file>:<line>: <message>`` (or ``<file> [<key>]: ...``)."""

    def __init__(self, message: str, path: Union[str, Path, None] = None, line: Optional[int] = None,
                 key: Optional[str] = None) -> None:
        self.message, self.path, self.line, self.key = message, None if path is None else str(path), line, key
        where = ""
        if self.path is not None:
            where = self.path
            if line is not None:
                where += f":{line}"
            if key is not None:
                where += f" [{key}]"
            where += ": "
        elif key is not None:
            where = f"[{key}]: "
        super().__init__(where + message)
