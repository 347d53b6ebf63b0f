"""Downloads with sha256 verification and HTTP Range resume.

A file is downloaded to ``<dest>.part``, resumed from the bytes already there after an interruption
(``Range: bytes=<n>-``; a server that ignores Range makes the download restart), verified against the
registry's sha256 and only then renamed into place, so a complete-looking file is always a verified one.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from genarch.data.errors import DataError
from genarch.data.registry import FILES, UPSTREAM, upstream_name

CHUNK = 1 << 16


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class FetchResult:
    path: Path
    status: str  # "present" | "downloaded" | "resumed"
    attempts: int


def download(url: str, dest: Path, sha256: str, size: Optional[int] = None, retries: int = 3,
             timeout: float = 30.0, log: Callable[[str], None] = lambda s: None) -> FetchResult:
    """Download ``url`` to ``dest`` (via ``dest.part``), resuming, verifying ``sha256``."""
    dest = Path(dest)
    if dest.exists() and (size is None or dest.stat().st_size == size) and sha256_file(dest) == sha256:
        return FetchResult(dest, "present", 0)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    resumed = False
    last_error: Optional[BaseException] = None
    for attempt in range(1, retries + 1):
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have > size:
            part.unlink()
            have = 0
        if size is None or have < size:
            headers = {"User-Agent": "genarch-fetch"}
            if have:
                headers["Range"] = f"bytes={have}-"
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
                    if have and resp.status == 206:
                        content_range = resp.headers.get("Content-Range", "")
                        if not content_range.startswith(f"bytes {have}-"):
                            raise DataError(f"server answered Range {have}- with {content_range!r}", url)
                        mode, resumed = "ab", True
                        log(f"resuming {dest.name} at byte {have}")
                    else:
                        mode = "wb"  # fresh download, or the server ignored Range
                    with open(part, mode) as fh:
                        while True:
                            block = resp.read(CHUNK)
                            if not block:
                                break
                            fh.write(block)
            except urllib.error.HTTPError as err:
                if err.code == 416 and have:  # nothing left to send: .part may already be complete
                    pass
                elif err.code in (404, 410, 403, 401):
                    raise DataError(f"HTTP {err.code} {err.reason}", url) from None
                else:
                    last_error = err
                    log(f"attempt {attempt}: HTTP {err.code}; retrying")
                    continue
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError,
                    OSError) as err:
                last_error = err
                log(f"attempt {attempt}: {type(err).__name__}: {err}; {part.stat().st_size if part.exists() else 0} "
                    f"bytes kept for resuming")
                continue
        got = part.stat().st_size if part.exists() else 0
        if size is not None and got < size:
            last_error = ConnectionError(f"connection closed after {got} of {size} bytes")
            log(f"attempt {attempt}: {last_error}; will resume")
            continue
        digest = sha256_file(part)
        if digest != sha256:
            part.unlink()
            raise DataError(f"sha256 mismatch: expected {sha256}, got {digest} (the partial file was removed)", url)
        os.replace(part, dest)
        return FetchResult(dest, "resumed" if resumed else "downloaded", attempt)
    raise DataError(f"download failed after {retries} attempts ({last_error}); rerun to resume from "
                    f"{part.stat().st_size if part.exists() else 0} bytes in {part}", url)


def base_url_for(source: str, base_url: Optional[str] = None) -> tuple[Optional[str], bool]:
    """(base URL, mirror layout?) from the argument, $GENARCH_<SOURCE>_URL, $GENARCH_DATA_URL, upstream."""
    env_key = f"GENARCH_{source.upper()}_URL"
    for candidate in (base_url, os.environ.get(env_key), os.environ.get("GENARCH_DATA_URL")):
        if candidate:
            return candidate.rstrip("/"), True
    return UPSTREAM.get(source), False


def _require_source(source: str) -> None:
    if source not in FILES:
        raise DataError(f"unknown source {source!r}; sources: {', '.join(sorted(FILES))}", key="source")


def fetch_source(source: str, dest: Path, base_url: Optional[str] = None, retries: int = 3, timeout: float = 30.0,
                 only: Optional[Callable[[str], bool]] = None, log: Callable[[str], None] = print) -> list[FetchResult]:
    """Fetch every registered file of ``source`` into ``dest`` (same layout as ``../shared/data``)."""
    _require_source(source)
    base, mirror = base_url_for(source, base_url)
    if base is None:
        raise DataError(f"{source} has no per-file public URL; pass --base-url (or set GENARCH_{source.upper()}_URL "
                        f"or GENARCH_DATA_URL) to a mirror holding the ../shared/data layout", key="base_url")
    results = []
    for rel, size, digest in FILES[source]:
        if only is not None and not only(rel):
            continue
        remote = rel if mirror else upstream_name(rel)
        url = f"{base}/{urllib.parse.quote(remote)}"
        result = download(url, Path(dest) / rel, digest, size, retries=retries, timeout=timeout, log=log)
        log(f"{result.status:>10}  {rel}")
        results.append(result)
    return results


def verify_tree(root: Path, source: Optional[str] = None) -> list[str]:
    """Registered files under ``root`` whose size or sha256 differ (missing files included)."""
    if source is not None:
        _require_source(source)
    bad = []
    for src, entries in FILES.items():
        if source is not None and src != source:
            continue
        for rel, size, digest in entries:
            path = Path(root) / rel
            if not path.exists() or path.stat().st_size != size or sha256_file(path) != digest:
                bad.append(rel)
    return bad
