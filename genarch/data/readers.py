"""Parsers of on-disk formats into :class:`RawSeqs`: sequences (strings or one-hot), targets, ids, lines.

Every parser reports bad input as :class:`DataError` naming the file and the line (1-based, counting
the header) or the key (column, id) at fault.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from genarch.data.encode import kept_window
from genarch.data.errors import DataError

PathLike = Union[str, Path]


@dataclass
class RawSeqs:
    """Parsed records of one file (or a pool of files) before encoding."""

    seqs: Optional[list[str]]  # strings, or None when ``x`` holds ready one-hot arrays
    y: np.ndarray  # float32 (N, T)
    ids: np.ndarray  # str (N,)
    lines: np.ndarray  # int (N,) 1-based line in ``source`` (0 when not applicable)
    source: str
    target_names: list[str]
    x: Optional[np.ndarray] = None  # uint8 (N, 4, L) when already one-hot
    groups: Optional[np.ndarray] = None  # records that must stay in the same split (e.g. a peak and its shuffle)
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: np.ndarray) -> "RawSeqs":
        index = np.asarray(index)
        return RawSeqs(
            seqs=None if self.seqs is None else [self.seqs[i] for i in index], y=self.y[index], ids=self.ids[index],
            lines=self.lines[index], source=self.source, target_names=list(self.target_names),
            x=None if self.x is None else self.x[index], groups=None if self.groups is None else self.groups[index],
            extra={k: v for k, v in self.extra.items() if k != "segments"},  # file counts no longer hold
        )


def record_origin(raw: RawSeqs, row: int) -> tuple[str, Optional[int]]:
    """The file and 1-based line of record ``row`` of ``raw``: the pooled file it came from when ``raw``
    pools several files, and no line when the format has none (one-hot arrays)."""
    source, start = raw.source, 0
    for name, count in raw.extra.get("segments") or ():
        if row < start + count:
            source = name
            break
        start += count
    line = int(raw.lines[row]) if len(raw.lines) > row else 0
    return source, line or None


def require_file(path: PathLike, what: str = "data file") -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found (set data_root / GENARCH_DATA, or run `python -m genarch.data fetch`)", path)
    if path.is_dir():
        raise DataError("expected a file, found a directory", path)
    if path.stat().st_size == 0:
        raise DataError("file is empty", path)
    return path


def read_text(path: PathLike) -> str:
    """Whole file as text; transparently gunzips ``.gz`` (or any file that starts with gzip's magic
    bytes); a UTF-8 byte-order mark is dropped; CRLF and CR line ends become ``\n``; truncated or
    corrupt gzip is a DataError. Readers split the text on ``\n`` only (``str.splitlines`` would also
    break at a form feed or U+2028 and shift every later line number)."""
    path = require_file(path)
    try:
        data = path.read_bytes()
        if path.suffix.lower() == ".gz" or data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as err:
        raise DataError(f"cannot read compressed file (truncated or corrupt gzip?): {err}", path) from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(f"not UTF-8 text (byte {data[err.start]:#x})", path, line) from None
    if "\r" in text:  # Windows (CRLF) and old Mac (CR) line ends: every reader then splits on "\n" alone
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DataError("file is empty (no records)", path)
    nul = text.find("\x00")
    if nul >= 0:
        raise DataError("illegal character '\\x00' (binary data in a text file?)", path, text.count("\n", 0, nul) + 1)
    return text


def _sep_for(path: Path, sep: Optional[str]) -> str:
    if sep is not None:
        return "\t" if sep in ("tab", "\\t") else sep
    name = path.name.lower().removesuffix(".gz")
    return "," if name.endswith(".csv") else "\t"


def _csv_rows(text: str, sep: str):
    """A CSV reader over ``text`` that takes fields as long as the text (the module's limit is 128 kB)."""
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    return csv.reader(io.StringIO(text), delimiter=sep)


def _header_fields(text: str, sep: str) -> list[str]:
    """The fields of the first line (read alone, not through a copy of the whole file)."""
    return next(_csv_rows(text[:text.find("\n") + 1 or len(text)], sep), [])


def _row_names(text: str, sep: str, n_columns: int, path: Path) -> bool:
    """Rows with more fields than the header's ``n_columns``. True when every record has exactly one more
    and its last field holds a value: the layout of R's ``write.table`` (row names in an unnamed first
    column), read as pandas reads it, the first field as a row name. False when the extra fields are all
    empty (a trailing separator, as spreadsheet exports write): they are dropped. Otherwise a value
    beyond the header is an error naming its line, not silently lost or shifted."""
    if len(sep) != 1:
        raise DataError(f"a row has more fields than the header's {n_columns}", path)
    reader = _csv_rows(text, sep)
    rows, before = [], 0
    for fields in reader:
        if any(f.strip() for f in fields):
            rows.append((before + 1, fields))
        before = reader.line_num
    records = rows[1:]
    if records and all(len(f) == n_columns + 1 for _, f in records) and any(f[-1].strip() for _, f in records):
        return True
    for line, fields in records:
        if len(fields) > n_columns and any(f.strip() for f in fields[n_columns:]):
            raise DataError(f"{len(fields)} fields but the header names {n_columns} columns "
                            f"(extra value {fields[n_columns:][0]!r})", path, line)
    return False


def _record_lines(text: str, sep: str, header: bool, n_rows: int) -> np.ndarray:
    """The 1-based line on which each of the table's ``n_rows`` records starts. A quoted field may span
    lines; then the records after it start later than their row number says, so the lines are counted
    by a CSV reader (single-character separators; otherwise one record a line is assumed)."""
    first = 2 if header else 1
    if '"' not in text or len(sep) != 1:
        return np.arange(n_rows) + first
    reader = _csv_rows(text, sep)
    starts, before = [], 0
    try:
        for _ in reader:
            starts.append(before + 1)
            before = reader.line_num
    except csv.Error:  # what pandas read, the csv module cannot: count one record a line
        return np.arange(n_rows) + first
    starts = starts[1:] if header else starts
    return np.asarray(starts) if len(starts) == n_rows else np.arange(n_rows) + first


def read_table(path: PathLike, seq_column: Union[str, int] = "sequence",
               target_columns: Optional[Sequence[Union[str, int]]] = None, id_column: Union[str, int, None] = None,
               sep: Optional[str] = None, header: bool = True, extra_columns: Sequence[Union[str, int]] = (),
               seq_what: str = "sequence") -> RawSeqs:
    """A CSV/TSV (optionally gzip) with a sequence column and one or more numeric target columns.

    Columns are named by header name, or by 0-based position (always so when ``header=False``).
    ``target_columns=None`` takes every column other than the sequence and id columns. ``seq_what`` names
    what the sequence column holds in error messages (a target table read by id passes ``"id"``).
    """
    import pandas as pd

    path = require_file(path)
    text = read_text(path)
    sep = _sep_for(path, sep)

    def read(index_col: "int | bool") -> tuple[Any, bool]:
        """The frame, and whether some row has more fields than the header (pandas warns; with
        index_col=False it drops them instead of making the first field an index)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=sep, header=0 if header else None, dtype=str,
                                index_col=index_col, skip_blank_lines=False, keep_default_na=False, na_values=[""])
        return frame, any("Length of header" in str(w.message) for w in caught)

    try:
        frame, longer = read(False)
        if longer and _row_names(text, sep, len(frame.columns), path):
            frame = read(0)[0].reset_index(drop=True)  # R's write.table: the unnamed first field is a row name
    except pd.errors.EmptyDataError:
        raise DataError("file is empty (no header or records)", path) from None
    except pd.errors.ParserError as err:
        if header:  # a later row longer than the first ones: name the line of the first value beyond the header
            _row_names(text, sep, len(_header_fields(text, sep)), path)
        raise DataError(f"malformed table: {str(err).strip()}", path) from None
    if header and len(sep) == 1:
        names = _header_fields(text, sep)
        twice = next((n for i, n in enumerate(names) if n.strip() and n in names[:i]), None)  # not Excel's blanks
        if twice is not None:
            raise DataError(f"column {twice!r} appears more than once in the header", path, 1, key=twice)
    lines_all = _record_lines(text, sep, header, len(frame))
    blank = frame.isna().all(axis=1).to_numpy()
    frame, lines_all = frame[~blank].reset_index(drop=True), lines_all[~blank]
    if len(frame) == 0:
        raise DataError("file has a header but no records", path)
    columns = list(frame.columns)

    def column(key: Union[str, int]) -> str:
        if isinstance(key, int) or (not header and str(key).isdigit()):
            k = int(key)
            if not 0 <= k < len(columns):
                raise DataError(f"no column number {k}; the file has {len(columns)} columns", path, key=str(key))
            return columns[k]
        if key not in columns:
            raise DataError(f"missing column {key!r}; columns are {columns}", path, key=str(key))
        return key

    seq_col = column(seq_column)
    id_col = None if id_column is None else column(id_column)
    if target_columns is None:
        targets = [c for c in columns if c not in (seq_col, id_col)]
    else:
        targets = [column(c) for c in ([target_columns] if isinstance(target_columns, (str, int)) else target_columns)]
    if not targets:
        raise DataError("no target columns", path, key="target_columns")

    for col, what in ((seq_col, seq_what), (id_col, "id")):
        missing = frame[col].isna().to_numpy() if col is not None else np.zeros(0, bool)
        if missing.any():
            raise DataError(f"empty {what} in column {col!r}", path, int(lines_all[np.argmax(missing)]))
    seqs = frame[seq_col]
    y = np.empty((len(frame), len(targets)), dtype=np.float32)
    for j, name in enumerate(targets):
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(over="ignore"):
            bad = ~np.isfinite(values.astype(np.float32))  # also a value that float32 cannot hold
        if bad.any():
            i = int(np.argmax(bad))
            raw = frame[name].iloc[i]
            if np.isnan(values[i]):
                blank = raw is None or (isinstance(raw, float)) or str(raw).strip().lower() in ("nan", "na", "")
                what = "missing (NaN) target" if blank else f"non-numeric target {raw!r}"
            else:
                what = f"infinite or out-of-range target {raw!r}"
            raise DataError(f"{what} in column {name!r}", path, int(lines_all[i]), key=str(name))
        y[:, j] = values
    ids = (frame[id_col].astype(str).to_numpy() if id_col is not None
           else np.array([f"{path.name}:{ln}" for ln in lines_all]))
    if id_col is not None:
        check_unique_ids(ids, lines_all, path)
    extra = {str(c): frame[column(c)].to_numpy() for c in extra_columns}
    return RawSeqs(seqs=seqs.tolist(), y=y, ids=ids, lines=lines_all, source=str(path),
                   target_names=[str(t) for t in targets], extra=extra)


def check_unique_ids(ids: np.ndarray, lines: Optional[np.ndarray], path: PathLike) -> None:
    """Each id once; a repeat names its line and the first one's (``lines=None``: array indices, as in
    an ``.npy`` of ids)."""
    seen: dict[str, int] = {}
    for index, ident in enumerate(ids.tolist()):
        if ident in seen:
            if lines is None:
                raise DataError(f"duplicate id {ident!r} at index {index} (first at index {seen[ident]})", path,
                                key=ident)
            raise DataError(f"duplicate id {ident!r} (first seen on line {seen[ident]})", path, int(lines[index]),
                            key=ident)
        seen[ident] = index if lines is None else int(lines[index])


_NOT_A_BASE = re.compile(r"[^ACGTNacgtn]")


def parse_fasta(text: str, source: str = "<fasta>", length: Optional[int] = None,
                length_mode: str = "pad") -> tuple[list[str], list[str], list[int]]:
    """FASTA text -> (ids, sequences, header line numbers). Multi-line records and blank lines allowed.
    An illegal character is reported at its own line and column, not at the record's header; only in
    the bases that ``length`` and ``length_mode`` keep (a flank that ``trim``/``centre`` cuts away may
    hold any letter, as in a table)."""
    ids: list[str] = []
    seqs: list[str] = []
    lines: list[int] = []
    chunks: list[str] = []
    chunk_lines: list[tuple[int, int]] = []  # (line number, column of the chunk's first character)
    seen: dict[str, int] = {}

    def close_record() -> None:
        seqs.append("".join(chunks))
        if not seqs[-1]:
            raise DataError(f"record {ids[-1]!r} has no sequence", source, lines[-1], key=ids[-1])
        bad = _NOT_A_BASE.search(seqs[-1], *kept_window(len(seqs[-1]), length, length_mode))
        if bad:
            offset = bad.start()
            for chunk, (number, first) in zip(chunks, chunk_lines):
                if offset < len(chunk):
                    raise DataError(f"illegal character {chunk[offset]!r} at column {first + offset} in record "
                                    f"{ids[-1]!r} (allowed: A, C, G, T, N in any case)", source, number, key=ids[-1])
                offset -= len(chunk)

    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            if ids:
                close_record()
            ident = line[1:].split(None, 1)[0] if len(line) > 1 and not line[1].isspace() else ""
            if not ident:
                raise DataError("FASTA header without an id", source, number)
            if ident in seen:
                raise DataError(f"duplicate id {ident!r} (first seen on line {seen[ident]})", source, number, key=ident)
            seen[ident] = number
            ids.append(ident)
            lines.append(number)
            chunks, chunk_lines = [], []
        else:
            if not ids:
                raise DataError("sequence data before the first '>' header (not FASTA?)", source, number)
            chunks.append(line)
            chunk_lines.append((number, len(raw_line) - len(raw_line.lstrip()) + 1))
    if not ids:
        raise DataError("no FASTA records", source)
    close_record()
    return ids, seqs, lines


def read_fasta(path: PathLike, length: Optional[int] = None,
               length_mode: str = "pad") -> tuple[list[str], list[str], list[int]]:
    path = require_file(path)
    return parse_fasta(read_text(path), str(path), length, length_mode)


def read_fasta_with_targets(fasta: PathLike, targets: PathLike, id_column: Union[str, int] = "id",
                            target_columns: Optional[Sequence[Union[str, int]]] = None, sep: Optional[str] = None,
                            header: bool = True, length: Optional[int] = None, length_mode: str = "pad") -> RawSeqs:
    """FASTA of sequences + a CSV/TSV of targets keyed by the FASTA ids (every id on both sides);
    ``length``/``length_mode`` as the dataset will fit the sequences (what is checked for illegal letters)."""
    ids, seqs, lines = read_fasta(fasta, length, length_mode)
    tpath = require_file(targets)
    # read the target table with the id column in the 'sequence' slot (it is only text)
    table = read_table(tpath, seq_column=id_column, target_columns=target_columns, sep=sep, header=header,
                       seq_what="id")
    table_ids = np.asarray(table.seqs, dtype=object)
    check_unique_ids(table_ids.astype(str), table.lines, tpath)
    row_of = {k: i for i, k in enumerate(table_ids.tolist())}
    missing = [(i, l) for i, l in zip(ids, lines) if i not in row_of]
    if missing:
        raise DataError(f"{len(missing)} FASTA record(s) have no targets in {tpath} (first: {missing[0][0]!r}); "
                        f"{len(ids)} sequences vs {len(table_ids)} target rows", fasta, missing[0][1],
                        key=missing[0][0])
    if len(table_ids) != len(ids):
        fasta_ids = set(ids)
        extra = next(k for k in table_ids.tolist() if k not in fasta_ids)
        raise DataError(f"target row for id {extra!r} has no FASTA record in {fasta}; "
                        f"{len(ids)} sequences vs {len(table_ids)} target rows", tpath,
                        int(table.lines[row_of[extra]]), key=extra)
    order = np.array([row_of[i] for i in ids])
    return RawSeqs(seqs=seqs, y=table.y[order], ids=np.array(ids), lines=np.array(lines), source=str(fasta),
                   target_names=table.target_names)


def load_npy(path: PathLike, allow_pickle: bool = False) -> np.ndarray:
    path = require_file(path)
    try:
        arr = np.load(path, allow_pickle=allow_pickle)
        if not isinstance(arr, np.ndarray):  # np.load opens a .npz archive (or a pickle) as something else
            names = list(arr.files) if hasattr(arr, "files") else []
            raise DataError(f"expected one array (.npy), found an .npz archive of {names}: save the array "
                            f"with np.save, or np.load it and save the one you mean" if names else
                            f"expected one array (.npy), found {type(arr).__name__}", path)
        return arr
    except DataError:
        raise
    except ValueError as err:
        raise DataError(f"cannot load .npy: {err}", path) from None
    except (OSError, EOFError) as err:
        raise DataError(f"cannot load .npy (truncated or not a .npy file?): {err}", path) from None
