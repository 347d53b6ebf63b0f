"""Splits: k-fold partitions, grouped splits never straddle, validation carved from training only."""

from pathlib import Path

import numpy as np
import pytest

from genarch.data.encode import decode
from genarch.data.errors import DataError
from genarch.data.splits import groups_from_regex, groups_from_shared_kmers, kfold_split, random_split
from genarch.data.sources import TableDataset

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not found at {DATA} (../shared/data)")


@pytest.mark.parametrize("n, k, groups", [(103, 10, None), (50, 5, np.repeat(np.arange(20), [1, 2, 3, 4, 5] * 4)[:50])])
def test_kfold_partitions_every_record_once(n, k, groups):
    rng_seed = 11
    tests = [kfold_split(n, k, f, np.random.default_rng(rng_seed), groups)[1] for f in range(k)]
    all_test = np.concatenate(tests)
    assert sorted(all_test.tolist()) == list(range(n))
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= (1 if groups is None else 5)
    if groups is not None:
        for f in range(k):
            tr, te = kfold_split(n, k, f, np.random.default_rng(rng_seed), groups)
            assert not set(groups[tr]) & set(groups[te])


@pytest.mark.parametrize("bad", [dict(k=1, fold=0), dict(k=5, fold=5), dict(k=5, fold=-1)])
def test_kfold_bad_config(bad):
    with pytest.raises(DataError, match="split"):
        kfold_split(10, bad["k"], bad["fold"], np.random.default_rng(0))


def test_grouped_random_split_keeps_groups_whole():
    groups = np.repeat(np.arange(40), 5)
    rest, held = random_split(200, 0.2, np.random.default_rng(0), groups)
    assert not set(groups[rest]) & set(groups[held])
    assert 30 <= len(held) <= 50 and len(rest) + len(held) == 200


@pytest.mark.parametrize(
    "ids, pattern, expected",
    [
        (["Native_YAL001C_t1", "Native_YAL001C_t2", "Native_YBR002W_t1", "Random_7"], r"Native_([^_]+)_",
         ["YAL001C", "YAL001C", "YBR002W", "\x00Random_7"]),
        (["chr1:100-200", "chr1:150-250"], r"^(chr\w+):", ["chr1", "chr1"]),
    ],
)
def test_groups_from_regex(ids, pattern, expected):
    assert groups_from_regex(ids, pattern).tolist() == expected


def test_groups_from_shared_kmers_joins_tiles_and_mutants():
    rng = np.random.default_rng(0)
    promoter = "".join(rng.choice(list("ACGT"), 200))
    other = "".join(rng.choice(list("ACGT"), 200))
    flank_l, flank_r = "TGCATTTT", "GGTTACGG"
    seqs = [flank_l + promoter[0:80] + flank_r, flank_l + promoter[40:120] + flank_r,  # overlapping tiles
            flank_l + promoter[0:30] + "A" + promoter[31:80] + flank_r,  # point mutant
            flank_l + other[0:80] + flank_r, flank_l + other[100:180] + flank_r]
    g = groups_from_shared_kmers(seqs, 20)
    assert g[0] == g[1] == g[2] and g[3] != g[0] and g[4] not in (g[0], g[3])


def _table(tmp_path, n=60):
    rng = np.random.default_rng(1)
    rows = ["id,sequence,y"] + [f"prom{i // 3}_tile{i % 3},{''.join(rng.choice(list('ACGT'), 12))},{i}"
                                for i in range(n)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "split, n_test",
    [
        ({"kind": "kfold", "k": 10, "fold": 3}, 6),
        ({"kind": "random", "test_fraction": 0.25}, 15),
        ({"kind": "grouped", "test_fraction": 0.2, "group_regex": r"^(prom\d+)_"}, 12),
    ],
)
def test_dataset_splits_and_validation_from_training_only(tmp_path, split, n_test):
    path = _table(tmp_path)
    b = TableDataset(train=str(path), id_column="id", split=split, val_fraction=0.2, seed=5).load()
    assert len(b.test) == n_test
    train, val, test = set(b.train.ids), set(b.val.ids), set(b.test.ids)
    assert not (train & val) and not (train & test) and not (val & test)
    assert len(train | val | test) == 60
    if split["kind"] == "grouped":
        prom = lambda ids: {i.split("_")[0] for i in ids}  # noqa: E731
        assert not (prom(train) & prom(test)) and not (prom(train) & prom(val))
    again = TableDataset(train=str(path), id_column="id", split=split, val_fraction=0.2, seed=5).load()
    assert list(again.test.ids) == list(b.test.ids)


def test_kfold_folds_cover_dataset(tmp_path):
    path = _table(tmp_path)
    seen = []
    for fold in range(5):
        b = TableDataset(train=str(path), id_column="id", split={"kind": "kfold", "k": 5, "fold": fold}).load()
        seen += list(b.test.ids)
    assert sorted(seen) == sorted(f"prom{i // 3}_tile{i % 3}" for i in range(60))


def test_fixed_split_needs_a_test_file(tmp_path):
    with pytest.raises(DataError, match="no fixed test file"):
        TableDataset(train=str(_table(tmp_path)), id_column="id", split={"kind": "fixed"}).load()


def test_revcomp_augment_doubles_training_only(tmp_path):
    path = _table(tmp_path)
    kw = dict(train=str(path), id_column="id", split={"kind": "random", "test_fraction": 0.2}, seed=2)
    plain, aug = TableDataset(**kw).load(), TableDataset(revcomp_augment=True, **kw).load()
    assert len(aug.train) == 2 * len(plain.train)
    assert len(aug.val) == len(plain.val) and np.array_equal(aug.test.x, plain.test.x)
    comp = str.maketrans("ACGT", "TGCA")
    n = len(plain.train)
    assert decode(aug.train.x[n:n + 1])[0] == decode(plain.train.x[:1])[0].translate(comp)[::-1]


def test_max_train_subsamples_seeded(tmp_path):
    path = _table(tmp_path)
    a = TableDataset(train=str(path), id_column="id", max_train=10, seed=4).load()
    b = TableDataset(train=str(path), id_column="id", max_train=10, seed=4).load()
    assert len(a.train) == 10 and list(a.train.ids) == list(b.train.ids)


@needs_data
def test_vaishnav_native_grouped_split_has_no_leak():
    b = TableDataset(train="expression/vaishnav2022_yeast/Native_complex.csv", data_root=str(DATA),
                     target_columns=["Measured Expression"], split={"kind": "grouped", "test_fraction": 0.1,
                                                                    "group_kmer": 20}).load()
    train = decode(b.train.x)
    test = decode(b.test.x)
    core = lambda s: s[17:-13]  # noqa: E731  strip the constant flanks
    train_kmers = {core(s)[j:j + 20] for s in train for j in range(0, len(core(s)) - 19, 5)}
    leaks = sum(any(core(s)[j:j + 20] in train_kmers for j in range(len(core(s)) - 19)) for s in test)
    assert leaks == 0 and 300 < len(b.test) < 450
