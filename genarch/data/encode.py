"""Vectorised one-hot encoding of DNA strings into compact ``uint8`` arrays of shape ``(N, 4, L)``.

Encoding goes through a 256-entry lookup table applied to the raw bytes (``np.frombuffer``), never
a per-character Python loop. Codes: A=0, C=1, G=2, T=3 (case-insensitive), N=4, padding=5; any other
byte is illegal and raises :class:`DataError` naming the file, line and character.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from genarch.data.errors import DataError

BASES = "ACGT"
N_CODE, PAD_CODE, BAD_CODE = 4, 5, 255
LENGTH_MODES = ("pad", "trim", "centre")

LUT = np.full(256, BAD_CODE, dtype=np.uint8)
for _i, _b in enumerate(BASES):
    LUT[ord(_b)] = LUT[ord(_b.lower())] = _i
LUT[ord("N")] = LUT[ord("n")] = N_CODE
_PAD_BYTE = b"\x00"  # never a legal base; mapped to PAD_CODE below
LUT[0] = PAD_CODE


def _table(n_value: float) -> np.ndarray:
    """codes -> one-hot rows; N is all-one (later 0.25) or all-zero."""
    if n_value not in (0, 0.25):
        raise DataError(f"n_value must be 0 or 0.25, got {n_value!r}", key="n_value")
    table = np.zeros((6, 4), dtype=np.uint8)
    table[np.arange(4), np.arange(4)] = 1
    table[N_CODE] = 1 if n_value == 0.25 else 0
    return table


def check_length(length: Any) -> None:
    """``length`` is null (the longest sequence) or a positive integer number of bases."""
    if length is None:
        return
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise DataError(f"length must be a positive integer number of bases (or null for the longest sequence), "
                        f"got {length!r}", key="length")


def kept_window(n: int, target: Optional[int], mode: str) -> tuple[int, int]:
    """The bases ``[start, end)`` of an ``n``-base sequence that :func:`fit_length` keeps."""
    if target is None or n <= target or mode == "pad":
        return 0, n
    start = 0 if mode == "trim" else (n - target) // 2
    return start, start + target


def fit_length(seqs: Sequence[str], length: Optional[int], mode: str = "pad") -> tuple[list[str], int]:
    """Bring variable-length strings to one length.

    ``pad``: right-pad with padding (all-zero columns) and error if a sequence is longer than ``length``;
    ``trim``: keep the first ``length`` bases (pad shorter ones); ``centre``: keep the central ``length``
    bases, padding shorter ones equally on both sides. ``length=None`` means the longest sequence.
    """
    if mode not in LENGTH_MODES:
        raise DataError(f"length_mode must be one of {LENGTH_MODES}, got {mode!r}", key="length_mode")
    check_length(length)
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    longest = int(lengths.max()) if len(lengths) else 0
    target = longest if length is None else int(length)
    if len(lengths) and lengths.min() == target == lengths.max():
        return list(seqs), target
    pad = "\x00"
    out = []
    for i, s in enumerate(seqs):
        n = len(s)
        if n > target:
            if mode == "pad":
                raise DataError(f"sequence of length {n} is longer than length={target} with length_mode=pad "
                                f"(use trim or centre)", line=i + 1)
            start, end = kept_window(n, target, mode)
            s = s[start:end]
        elif n < target:
            if mode == "centre":
                left = (target - n) // 2
                s = pad * left + s + pad * (target - n - left)
            else:
                s = s + pad * (target - n)
        out.append(s)
    return out, target


def encode_codes(seqs: Sequence[str], source: str = "<sequences>", lines: Optional[Sequence[int]] = None) -> np.ndarray:
    """Equal-length strings -> integer codes ``(N, L)`` uint8. Raises DataError on an illegal character."""
    n = len(seqs)
    if n == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    length = len(seqs[0])
    try:
        raw = "".join(seqs).encode("ascii")
    except UnicodeEncodeError:
        raw = "".join(seqs).encode("utf-8", errors="replace")
    if len(raw) != n * length:
        # a non-ascii character or unequal lengths: find the culprit row for a clear message
        for i, s in enumerate(seqs):
            if len(s) != length:
                raise DataError(f"sequence length {len(s)} differs from {length} (set length/length_mode)",
                                source, lines[i] if lines is not None else i + 1)
            bad = [c for c in s if not c.isascii()]
            if bad:
                raise DataError(f"illegal character {bad[0]!r} in sequence", source,
                                lines[i] if lines is not None else i + 1)
    codes = LUT[np.frombuffer(raw, dtype=np.uint8)].reshape(n, length)
    bad = codes == BAD_CODE
    if bad.any():
        row, col = np.argwhere(bad)[0]
        char = seqs[row][col]
        line = lines[row] if lines is not None else row + 1
        raise DataError(f"illegal character {char!r} at position {col + 1} of the sequence "
                        f"(allowed: A, C, G, T, N in any case)", source, int(line))
    return codes


def codes_to_onehot(codes: np.ndarray, n_value: float = 0) -> np.ndarray:
    """Codes ``(N, L)`` -> one-hot ``(N, 4, L)`` uint8."""
    table = _table(n_value)
    return np.ascontiguousarray(table[codes].transpose(0, 2, 1))


def one_hot(seqs: Sequence[str], n_value: float = 0, length: Optional[int] = None, length_mode: str = "pad",
            source: str = "<sequences>", lines: Optional[Sequence[int]] = None) -> np.ndarray:
    """Strings -> one-hot ``uint8 (N, 4, L)``; see :func:`fit_length` for ``length``/``length_mode``."""
    try:
        fitted, _ = fit_length(seqs, length, length_mode)
    except DataError as err:
        if err.line is not None and err.path is None:
            line = lines[err.line - 1] if lines is not None else err.line
            raise DataError(err.message, source, line) from None
        raise
    return codes_to_onehot(encode_codes(fitted, source, lines), n_value)


def onehot_to_codes(x: np.ndarray) -> np.ndarray:
    """One-hot ``(N, 4, L)`` -> codes ``(N, L)``: 0-3 for a base, 4 for an all-one N, 5 for an all-zero column."""
    col_sum = x.sum(axis=1)
    codes = np.argmax(x, axis=1).astype(np.uint8)
    codes[col_sum == 0] = PAD_CODE
    codes[col_sum > 1] = N_CODE
    return codes


def decode(x: np.ndarray, zero_as: str = "N") -> list[str]:
    """One-hot ``(N, 4, L)`` -> strings; all-one columns read as N, all-zero columns as ``zero_as``."""
    zero_mark = "\x00"  # all-zero columns, replaced by ``zero_as`` after decoding
    alphabet = np.frombuffer((BASES + "N" + zero_mark).encode(), dtype=np.uint8)
    chars = alphabet[onehot_to_codes(x)]
    length = x.shape[2]
    raw = chars.tobytes().decode("ascii")
    return [raw[i * length:(i + 1) * length].replace(zero_mark, zero_as) for i in range(len(x))]


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot ``(N, 4, L)`` (rows A, C, G, T): flip both the base and position axes."""
    return np.ascontiguousarray(x[:, ::-1, ::-1])


def reorder_bases(x: np.ndarray, base_order: str) -> np.ndarray:
    """One-hot whose rows follow ``base_order`` (e.g. "ACGT", "AGCT") -> rows in A, C, G, T order."""
    order = base_order.upper()
    if sorted(order) != sorted(BASES) or len(order) != 4:
        raise DataError(f"base_order must be a permutation of ACGT, got {base_order!r}", key="base_order")
    return np.ascontiguousarray(x[:, [order.index(b) for b in BASES], :])
