"""Built-in synthetic data (minimal version; the datasets issue replaces it with planted JASPAR motifs)."""

import numpy as np

from genarch.data.base import ArraySplit, DataBundle

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def _one_hot(codes: np.ndarray) -> np.ndarray:
    return (codes[:, None, :] == np.arange(4, dtype=np.uint8)[None, :, None]).astype(np.uint8)


class SyntheticTFBS:
    """Binary task: positives carry ``motif`` at a random position, negatives are shuffles."""

    def __init__(self, n: int = 2000, length: int = 101, motif: str = "TGACTCA", val_fraction: float = 0.1,
                 test_fraction: float = 0.1, seed: int = 0) -> None:
        self.n, self.length, self.motif = n, length, motif
        self.val_fraction, self.test_fraction, self.seed = val_fraction, test_fraction, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        n_pos = self.n // 2
        codes = rng.integers(0, 4, size=(self.n, self.length), dtype=np.uint8)
        motif = np.searchsorted(_BASES, np.frombuffer(self.motif.encode(), dtype=np.uint8)).astype(np.uint8)
        starts = rng.integers(0, self.length - len(motif) + 1, size=n_pos)
        for i, start in enumerate(starts):
            codes[i, start : start + len(motif)] = motif
        for i in range(n_pos, self.n):
            codes[i] = rng.permutation(codes[i - n_pos])
        y = np.r_[np.ones(n_pos), np.zeros(self.n - n_pos)].astype(np.float32)
        order = rng.permutation(self.n)
        x, y = _one_hot(codes)[order], y[order]
        n_test, n_val = int(self.n * self.test_fraction), int(self.n * self.val_fraction)
        split = lambda a, b: ArraySplit(x[a:b], y[a:b])  # noqa: E731
        return DataBundle(
            train=split(n_test + n_val, self.n), val=split(n_test, n_test + n_val), test=split(0, n_test),
            task="binary", target_names=["bound"], name="synthetic_tfbs",
        )
