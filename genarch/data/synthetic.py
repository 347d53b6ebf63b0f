"""The embedded default datasets: synthetic sequences with planted real JASPAR motifs (no download).

* :class:`SyntheticTFBS` (``dataset=synthetic_tfbs``, the default): TFBS-like binary classification.
  Positives are uniform random 101-bp sequences carrying one sampled instance of a JASPAR motif (CTCF
  MA0139.2 by default) at a random position and strand; each negative is a dinucleotide shuffle of a
  positive, as in DeepBind's protocol. A positive and its shuffle always land in the same split.
* :class:`SyntheticILSEP` (``dataset=synthetic_ilsep``): ILSEP-like multi-output regression. Long
  promoters (2,000 bp) with the TSS at the centre, 11 lineage targets; each lineage is driven by its
  own motif, which counts only inside a window at a lineage-specific offset from the TSS, plus a
  weaker contribution from a neighbouring lineage's motif, a shared core-promoter motif, and noise.

Generated arrays are cached by their parameters, seed and the JASPAR release and matrices they plant
(see :mod:`genarch.data.cache`); the ground truth (which JASPAR motif, where, which strand, whether it
is in its active window) is written as a TSV next to the cached arrays: ``<cache>/<name>-<key>.npz``
and ``<cache>/<name>-<key>.truth.tsv``.
"""

from __future__ import annotations

import abc
import csv
import io
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from genarch.data.cache import cache_dir, cache_key, load_arrays, save_arrays
from genarch.io import atomic_write_bytes
from genarch.data.dataset import SequenceDataset
from genarch.data.encode import BASES, codes_to_onehot, encode_codes
from genarch.data.errors import DataError
from genarch.jaspar import Motif, fetch_motif, revcomp_codes, sample_instances
from genarch.data.readers import RawSeqs
from genarch.data.shuffle import dinuc_shuffle_many

GENERATOR_VERSION = 2
_ALPHABET = np.frombuffer(BASES.encode(), dtype=np.uint8)

# 11 lineages as in the paper's ILSEP grouping of ImmGen cell types, each with its own driver motif
ILSEP_LINEAGES: list[tuple[str, str]] = [
    ("B", "MA0154.5"),      # EBF1
    ("abT", "MA0002.3"),    # RUNX1
    ("T.act", "MA1419.2"),  # IRF4
    ("gdT", "MA0690.3"),    # TBX21
    ("NKT", "MA1151.2"),    # RORC
    ("NK", "MA0105.4"),     # NFKB1
    ("DC", "MA0080.7"),     # Spi1 (PU.1)
    ("MF", "MA0497.2"),     # MEF2C
    ("Mo", "MA0102.5"),     # CEBPA
    ("GN", "MA2388.1"),     # GATA1
    ("stem", "MA0519.2"),   # STAT5A::STAT5B
]
ILSEP_SHARED_MOTIF = "MA0079.5"  # SP1: a core-promoter motif that raises every lineage


def _codes_to_strings(codes: np.ndarray) -> list[str]:
    length = codes.shape[1]
    raw = _ALPHABET[codes].tobytes().decode("ascii")
    return [raw[i * length:(i + 1) * length] for i in range(len(codes))]


def _write_truth(path: Path, header: Sequence[str], rows: list[Sequence[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


class _CachedSynthetic(SequenceDataset):
    """Shared caching: ``_params()`` names the generated data, ``_generate()`` makes it."""

    generator = "synthetic"

    def __init__(self, data_seed: Optional[int] = None, cache_dir: Union[str, Path, None] = None,
                 use_cache: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("split", {"kind": "random", "test_fraction": 0.1})
        super().__init__(**kwargs)
        self.data_seed = self.seed if data_seed is None else int(data_seed)
        self.cache_dir_override, self.use_cache = cache_dir, bool(use_cache)
        self.cache_path: Optional[Path] = None
        self.truth_path: Optional[Path] = None

    @abc.abstractmethod
    def _params(self) -> dict[str, Any]:
        """The generator's parameters: what the cache key and the params file record."""

    @abc.abstractmethod
    def _motif_ids(self) -> list[str]:
        """The JASPAR matrix IDs the generator plants, as configured (a bare base ID means the latest)."""

    def _jaspar(self) -> dict[str, Any]:
        """The JASPAR release and the matrix each configured ID resolves to: part of the cache key, so that
        a bare ID whose latest version changes with a newer pyjaspar does not reuse the old data."""
        motifs = [fetch_motif(m) for m in self._motif_ids()]
        return {"release": motifs[0].release if motifs else None, "matrices": [m.matrix_id for m in motifs]}

    @abc.abstractmethod
    def _generate(self) -> tuple[dict[str, np.ndarray], list[str], list[Sequence[Any]]]:
        """Arrays (codes, y, ids, groups), the ground-truth header and its rows."""

    def generated(self) -> dict[str, np.ndarray]:
        """The generated arrays (``codes``, ``y``, ``ids``, ``groups``), from the cache when present."""
        params = {"generator": self.generator, "version": GENERATOR_VERSION, "seed": self.data_seed, **self._params(),
                  "jaspar": self._jaspar()}
        key = cache_key(params)
        folder = cache_dir(self.cache_dir_override)
        self.cache_path = folder / f"{self.generator}-{key}.npz"
        self.truth_path = folder / f"{self.generator}-{key}.truth.tsv"
        if self.use_cache:
            arrays = load_arrays(self.cache_path)
            if arrays is not None and self.truth_path.exists():
                return arrays
        arrays, header, rows = self._generate()
        if self.use_cache:
            _write_truth(self.truth_path, header, rows)
            save_arrays(self.cache_path, **arrays)
            import json

            atomic_write_bytes(folder / f"{self.generator}-{key}.params.json",
                               json.dumps(params, indent=1, sort_keys=True, default=str).encode())
        else:
            self.cache_path = self.truth_path = None
        return arrays

    def _read(self) -> dict[str, RawSeqs]:
        arrays = self.generated()
        codes = arrays["codes"]
        n_value = self.n_value
        x = codes_to_onehot(codes, n_value)
        return {"all": RawSeqs(seqs=None, x=x, y=arrays["y"].astype(np.float32), ids=arrays["ids"].astype(str),
                               lines=np.zeros(len(codes), dtype=int), source=str(self.cache_path or "<generated>"),
                               target_names=list(self._target_names()), groups=arrays["groups"].astype(str))}

    @abc.abstractmethod
    def _target_names(self) -> list[str]:
        """Names of the targets, one per output."""

    def _info(self) -> dict[str, Any]:
        return {"generator": self.generator, "data_seed": self.data_seed, "cache_file": str(self.cache_path),
                "ground_truth_file": str(self.truth_path), **self._params()}


class SyntheticTFBS(_CachedSynthetic):
    """Binary TFBS-like task with a planted JASPAR motif; negatives are dinucleotide shuffles."""

    task = "binary"
    generator = "synthetic_tfbs"
    name = "synthetic_tfbs"

    def __init__(self, n: int = 5000, length: int = 101, motif: Union[str, Sequence[str]] = "MA0139.2",
                 n_value: float = 0, **kwargs: Any) -> None:
        # `length` is the generated length here; it is also the model's input length
        super().__init__(length=None, n_value=n_value, **kwargs)
        self.n, self.seq_length = int(n), int(length)
        self.motifs = [motif] if isinstance(motif, str) else list(motif)
        if self.n < 4 or self.n % 2:
            raise DataError(f"n must be an even number >= 4 (half positives, half shuffles), got {n}", key="n")
        if not self.motifs:
            raise DataError("at least one motif is needed", key="motif")

    def _params(self) -> dict[str, Any]:
        return {"n": self.n, "length": self.seq_length, "motifs": self.motifs}

    def _motif_ids(self) -> list[str]:
        return list(self.motifs)

    def _target_names(self) -> list[str]:
        return ["bound"]

    def _generate(self):
        rng = np.random.default_rng([self.data_seed, 100])
        motifs: list[Motif] = [fetch_motif(m) for m in self.motifs]
        longest = max(m.length for m in motifs)
        if longest > self.seq_length:
            raise DataError(f"motif of {longest} bp does not fit in length={self.seq_length}", key="length")
        n_pos = self.n // 2
        codes = rng.integers(0, 4, size=(n_pos, self.seq_length), dtype=np.uint8)
        which = rng.integers(0, len(motifs), size=n_pos)
        strand = rng.random(n_pos) < 0.5
        rows = []
        for k, motif in enumerate(motifs):
            idx = np.flatnonzero(which == k)
            inst = sample_instances(motif, len(idx), rng)
            inst[strand[idx]] = revcomp_codes(inst[strand[idx]])
            starts = rng.integers(0, self.seq_length - motif.length + 1, size=len(idx))
            cols = starts[:, None] + np.arange(motif.length)[None, :]
            codes[idx[:, None], cols] = inst
            for i, s, rc, site in zip(idx, starts, strand[idx], _codes_to_strings(inst) if len(idx) else []):
                rows.append((f"pos{i:06d}", 1, motif.matrix_id, motif.name, int(s), int(s) + motif.length,
                             "-" if rc else "+", site))
        rows.sort(key=lambda r: r[0])
        pos_strings = _codes_to_strings(codes)
        neg_strings = dinuc_shuffle_many(pos_strings, seed=self.data_seed)
        neg_codes = encode_codes(neg_strings)
        ids = np.array([f"pos{i:06d}" for i in range(n_pos)] + [f"neg{i:06d}" for i in range(n_pos)])
        groups = np.array([f"pair{i:06d}" for i in range(n_pos)] * 2)
        for i in range(n_pos):
            rows.append((f"neg{i:06d}", 0, "", "", "", "", "", f"shuffle of pos{i:06d}"))
        arrays = {"codes": np.concatenate([codes, neg_codes]),
                  "y": np.r_[np.ones(n_pos), np.zeros(n_pos)].astype(np.float32)[:, None],
                  "ids": ids, "groups": groups}
        header = ("id", "label", "jaspar_id", "motif_name", "start", "end", "strand", "site")
        return arrays, header, rows


class SyntheticILSEP(_CachedSynthetic):
    """Multi-output regression on long promoters: 11 lineages, each driven by its own JASPAR motif in a
    window at a lineage-specific offset from the TSS (the centre), plus shared and noise terms."""

    task = "regression"
    generator = "synthetic_ilsep"
    name = "synthetic_ilsep"

    def __init__(self, n: int = 3000, length: int = 2000, lineages: Optional[Sequence[Sequence[str]]] = None,
                 shared_motif: Optional[str] = ILSEP_SHARED_MOTIF, p_site: float = 0.5, window: int = 100,
                 offset_range: Sequence[int] = (-700, 300), noise: float = 0.3, n_value: float = 0,
                 **kwargs: Any) -> None:
        super().__init__(length=None, n_value=n_value, **kwargs)
        self.n, self.seq_length = int(n), int(length)
        self.lineages = [tuple(x) for x in (lineages or ILSEP_LINEAGES)]
        self.shared_motif, self.p_site, self.window = shared_motif, float(p_site), int(window)
        self.offset_range, self.noise = tuple(int(v) for v in offset_range), float(noise)
        half = self.seq_length // 2
        if not (-half + self.window <= self.offset_range[0] <= self.offset_range[1] <= half - self.window - 40):
            raise DataError(f"offset_range {self.offset_range} with window {self.window} does not fit a "
                            f"{self.seq_length}-bp promoter", key="offset_range")

    def _params(self) -> dict[str, Any]:
        return {"n": self.n, "length": self.seq_length, "lineages": self.lineages, "shared_motif": self.shared_motif,
                "p_site": self.p_site, "window": self.window, "offset_range": self.offset_range, "noise": self.noise}

    def _motif_ids(self) -> list[str]:
        return [mid for _, mid in self.lineages] + ([self.shared_motif] if self.shared_motif else [])

    def _target_names(self) -> list[str]:
        return [name for name, _ in self.lineages]

    def offsets(self) -> np.ndarray:
        """Centre of each lineage's active window, relative to the TSS (bp)."""
        return np.linspace(self.offset_range[0], self.offset_range[1], len(self.lineages)).round().astype(int)

    def _generate(self):
        rng = np.random.default_rng([self.data_seed, 200])
        n, length, tss = self.n, self.seq_length, self.seq_length // 2
        codes = rng.integers(0, 4, size=(n, length), dtype=np.uint8)
        motifs = [fetch_motif(mid) for _, mid in self.lineages]
        offsets = self.offsets()
        n_lin = len(motifs)
        active = np.zeros((n, n_lin), dtype=np.float32)  # driver motif of lineage l inside its window
        rows = []
        occupied = np.zeros((n, length), dtype=bool)

        def plant(i: int, motif: Motif, lo: int, hi: int) -> Optional[tuple[int, bool, str]]:
            for _ in range(20):
                start = int(rng.integers(lo, max(lo + 1, hi - motif.length + 1)))
                if not occupied[i, start:start + motif.length].any():
                    inst = sample_instances(motif, 1, rng)[0]
                    rc = bool(rng.random() < 0.5)
                    site = revcomp_codes(inst) if rc else inst
                    codes[i, start:start + motif.length] = site
                    occupied[i, start:start + motif.length] = True
                    return start, rc, _codes_to_strings(site[None, :])[0]
            return None

        for i in range(n):
            for l, motif in enumerate(motifs):
                if rng.random() >= self.p_site:
                    continue
                in_window = bool(rng.random() < 0.6)
                centre = tss + offsets[l]
                if in_window:
                    lo, hi = centre - self.window // 2, centre + self.window // 2 + motif.length
                else:  # a decoy anywhere, which counts only if it happens to fall in the window
                    lo, hi = 0, length
                placed = plant(i, motif, lo, hi)
                if placed is None:
                    continue
                start, rc, site = placed
                mid = start + motif.length // 2
                counted = abs(mid - centre) <= self.window // 2 + motif.length // 2
                active[i, l] = max(active[i, l], float(counted))
                rows.append((f"prom{i:06d}", self.lineages[l][0], motif.matrix_id, motif.name, start - tss,
                             start - tss + motif.length, "-" if rc else "+", int(counted), site))
        shared = np.zeros(n, dtype=np.float32)
        if self.shared_motif:
            sm = fetch_motif(self.shared_motif)
            for i in range(n):
                if rng.random() < self.p_site:
                    placed = plant(i, sm, tss - 60, tss + 20)
                    if placed is not None:
                        shared[i] = 1.0
                        start, rc, site = placed
                        rows.append((f"prom{i:06d}", "all", sm.matrix_id, sm.name, start - tss,
                                     start - tss + sm.length, "-" if rc else "+", 1, site))
        # lineage l: own driver (1.0) + half of its neighbour's driver (0.5) + shared core motif (0.5) + noise
        y = active + 0.5 * np.roll(active, 1, axis=1) + 0.5 * shared[:, None]
        y = (y + rng.normal(0, self.noise, size=y.shape)).astype(np.float32)
        ids = np.array([f"prom{i:06d}" for i in range(n)])
        arrays = {"codes": codes, "y": y, "ids": ids, "groups": ids.copy()}
        header = ("id", "lineage", "jaspar_id", "motif_name", "start_rel_tss", "end_rel_tss", "strand", "in_window",
                  "site")
        return arrays, header, rows
