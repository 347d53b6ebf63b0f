"""Targets that are not finite float32 values are named by file, line and column; ``val_from=dev`` is
refused where no dev file can be the validation set; a given test file stays the test split and no
training record copies a test sequence; k-mer groups span every file; malformed side files (a BOM, a
group table, npy targets) are read right or refused naming the file."""

import re
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not found at {DATA} (../shared/data)")


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "1e300"])
def test_a_target_that_is_not_a_finite_float32_is_named(tmp_path, value):
    from genarch.data.errors import DataError
    from genarch.data.readers import read_table

    path = tmp_path / "t.csv"
    path.write_text(f"sequence,y\nACGT,1\nACGA,{value}\n")
    with pytest.raises(DataError, match=rf"t.csv:3 \[y\]: infinite or out-of-range target '{value}'"):
        read_table(path)


def _tables(tmp_path, roles=("train", "test", "dev")):
    import numpy as np

    rng = np.random.default_rng(0)
    paths = {}
    for role in roles:
        rows = ["id,sequence,y"] + [f"{role}{i},{''.join(rng.choice(list('ACGT'), 12))},{i % 2}" for i in range(30)]
        paths[role] = tmp_path / f"{role}.csv"
        paths[role].write_text("\n".join(rows) + "\n")
    return {role: str(path) for role, path in paths.items()}


@pytest.mark.parametrize("roles, split, message", [
    (("train", "test"), {"kind": "fixed"}, "the dataset has no dev file"),
    (("train", "test", "dev"), {"kind": "random", "test_fraction": 0.2}, "split.kind=random pools every file"),
])
def test_val_from_dev_without_a_dev_file_to_use_is_refused(tmp_path, roles, split, message):
    from genarch.data.errors import DataError
    from genarch.data.sources import TableDataset

    with pytest.raises(DataError, match=rf"\[val_from\].*{message}|{message}.*val_from") as err:
        TableDataset(**_tables(tmp_path, roles), id_column="id", split=split, val_from="dev").load()
    assert err.value.key == "val_from"


def test_val_from_dev_uses_the_dev_file(tmp_path):
    from genarch.data.sources import TableDataset

    bundle = TableDataset(**_tables(tmp_path), id_column="id", split={"kind": "fixed"}, val_from="dev").load()
    assert {i[:3] for i in bundle.val.ids} == {"dev"} and len(bundle.val) == 30


@pytest.mark.parametrize("split, val_fraction, key, message", [
    ({"kind": "kfold", "k": 40, "fold": 0}, 0.2, "split.k", "30 records cannot make 40 folds"),
    ({"kind": "random", "test_fraction": 0.2}, 0.0, "val_fraction", "leaves 24 for training and 0 for validation"),
])
def test_a_split_that_would_be_empty_is_refused(tmp_path, split, val_fraction, key, message):
    from genarch.data.errors import DataError
    from genarch.data.sources import TableDataset

    with pytest.raises(DataError, match=message) as err:
        TableDataset(train=_tables(tmp_path, ("train",))["train"], id_column="id", split=split,
                     val_fraction=val_fraction).load()
    assert err.value.key == key


def test_verifying_an_unknown_source_is_an_error_not_a_pass(tmp_path):
    from genarch.data.errors import DataError
    from genarch.data.fetch import verify_tree

    with pytest.raises(DataError, match="unknown source 'typo'") as err:
        verify_tree(tmp_path, "typo")
    assert err.value.key == "source"


def test_a_bad_record_in_the_second_file_of_a_role_names_that_file_and_its_line(tmp_path):
    from genarch.data.errors import DataError
    from genarch.data.sources import TableDataset

    (tmp_path / "a.csv").write_text("sequence,y\nACGTACGT,1\nACGTACGA,0\nACGTACGC,1\n")
    (tmp_path / "b.csv").write_text("sequence,y\nACGTACGT,0\nACXTACGT,1\n")
    with pytest.raises(DataError, match=r"b\.csv:3\b") as err:
        TableDataset(train=[str(tmp_path / "a.csv"), str(tmp_path / "b.csv")],
                     split={"kind": "random", "test_fraction": 0.2}).load()
    assert "a.csv" not in str(err.value)


def _promoter_files(tmp_path, roles=("train", "test"), n_promoters=20, per_file=3, length=60):
    """Point mutants of each promoter in every file; test rows shuffled, so per-file group numbers
    would not line up by luck."""
    import random

    rnd = random.Random(0)

    def mutant(s):
        i = rnd.randrange(len(s))
        return s[:i] + rnd.choice([b for b in "ACGT" if b != s[i]]) + s[i + 1:]

    promoters = ["".join(rnd.choice("ACGT") for _ in range(length)) for _ in range(n_promoters)]
    paths = {}
    for role in roles:
        rows = [(f"{role}_p{p}_{k}", mutant(seq), rnd.random())
                for p, seq in enumerate(promoters) for k in range(per_file)]
        rnd.shuffle(rows)
        paths[role] = tmp_path / f"{role}.csv"
        paths[role].write_text("id,sequence,y\n" + "".join(f"{i},{s},{y}\n" for i, s, y in rows))
    return {role: str(path) for role, path in paths.items()}


def _promoters(ids):
    return {str(i).split("_")[1] for i in ids}


@pytest.mark.parametrize("roles, split, sides", [
    # mutants of one promoter in the train and the test file are one group: held out together
    (("train", "test"), {"kind": "grouped", "group_kmer": 20, "test_fraction": 0.3}, ("train+val", "test")),
    (("train", "test"), {"kind": "kfold", "group_kmer": 20, "k": 3, "fold": 1}, ("train+val", "test")),
    # the fixed split carves val from train + dev: a promoter is in train or in val, never both
    (("train", "dev", "test"), {"kind": "fixed", "group_kmer": 20}, ("train", "val")),
])
def test_kmer_groups_span_every_file(tmp_path, roles, split, sides):
    from genarch.data.sources import TableDataset

    bundle = TableDataset(**_promoter_files(tmp_path, roles), id_column="id", split=split, val_fraction=0.2).load()
    parts = {"train": _promoters(bundle.train.ids), "val": _promoters(bundle.val.ids),
             "test": _promoters(bundle.test.ids)}
    parts["train+val"] = parts["train"] | parts["val"]
    a, b = (parts[side] for side in sides)
    assert a and b and not a & b


@pytest.mark.parametrize("seqs, k, expected", [
    # constant adapters around a 15-bp variable core, each oligo measured twice: duplicates share a group
    (["A" * 40 + core + "C" * 40 for core in ("ACGTTGCAACGTAGG", "TTGACCAGTAGCATG") for _ in (0, 1)], 20, [0, 0, 1, 1]),
    (["ACGTACGTAC"] * 3, 20, [0, 0, 0]),                 # identical sequences: one group
    (["ACGTACGTAC", "TTTTGGGGCC"], 20, [0, 1]),          # short and different: two groups
])
def test_sequences_with_a_core_shorter_than_k_group_by_the_whole_core(seqs, k, expected):
    from genarch.data.splits import groups_from_shared_kmers

    labels = groups_from_shared_kmers(seqs, k)
    assert [int(x) for x in labels] == expected


@pytest.mark.parametrize("length", [-3, 0, 2.5, True, "101"])
def test_a_length_that_is_not_a_positive_integer_is_refused(tmp_path, length):
    from genarch.data.encode import fit_length
    from genarch.data.errors import DataError
    from genarch.data.sources import TableDataset

    with pytest.raises(DataError, match="length must be a positive integer") as err:
        fit_length(["ACGTACGTAC", "TTTTGGGGCC"], length, "trim")
    assert err.value.key == "length"
    with pytest.raises(DataError, match="length must be a positive integer"):
        TableDataset(**_tables(tmp_path, ("train", "test")), id_column="id", length=length)


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_a_table_with_a_test_file_keeps_it_as_the_fixed_test_split(tmp_path):
    """The table/fasta presets leave split.kind null: a given test file is the test split (it used to be
    pooled with training and split at random)."""
    from hydra import compose, initialize_config_module

    from genarch.data import load_dataset

    rows = "".join(f"r{i}\tACGTACGTA{'ACGT'[i % 4]}\t{i % 2}\n" for i in range(40))
    train = _write(tmp_path / "tr.tsv", "id\tsequence\ty\n" + rows)
    test = _write(tmp_path / "te.tsv", "id\tsequence\ty\n" + "".join(f"t{i}\tTTTTGGGGC{'ACGT'[i % 4]}\t{i % 2}\n"
                                                                       for i in range(10)))
    with initialize_config_module("genarch.conf", version_base="1.3"):
        with_test = compose("config", overrides=["dataset=table", f"dataset.train={train}", f"dataset.test={test}",
                                                 "dataset.target_columns=[y]", "dataset.id_column=id"])
        without = compose("config", overrides=["dataset=table", f"dataset.train={train}", "dataset.target_columns=[y]",
                                               "dataset.id_column=id"])
    bundle = load_dataset(with_test.dataset)
    assert bundle.info["split"] == "fixed test file"
    assert sorted(map(str, bundle.test.ids)) == [f"t{i}" for i in range(10)]
    assert load_dataset(without.dataset).info["split"].startswith("random split")


@pytest.mark.parametrize("test_copies, dropped", [("drop", 3), ("keep", 0)])
def test_training_copies_of_test_sequences_are_left_out(tmp_path, test_copies, dropped):
    from genarch.data.sources import TableDataset

    seqs = [f"ACGTACG{a}{b}{c}" for a in "ACGT" for b in "ACGT" for c in "AC"][:30]
    train = _write(tmp_path / "tr.csv", "id,sequence,y\n" + "".join(f"r{i},{s},{i % 2}\n" for i, s in enumerate(seqs)))
    test = _write(tmp_path / "te.csv", "id,sequence,y\n" + "".join(f"t{i},{s},{i % 2}\n"
                                                                    for i, s in enumerate(seqs[:3] + ["TTTTTTTTTT"])))
    bundle = TableDataset(train=train, test=test, id_column="id", target_columns=["y"], task="binary",
                          test_copies=test_copies).load()
    assert bundle.info.get("dropped_copies_of_test", 0) == dropped
    assert len(bundle.train) + len(bundle.val) == 30 - dropped and len(bundle.test) == 4
    if dropped:
        held = {bytes(row) for row in bundle.test.x}
        assert not any(bytes(row) in held for row in np.concatenate([bundle.train.x, bundle.val.x]))


@needs_data
def test_deepbind_test_pairs_stay_together_when_the_files_are_pooled():
    import re

    from genarch.data.sources import DeepBindENCODE

    bundle = DeepBindENCODE(experiment="MYC_H1", data_root=str(DATA),
                            split={"kind": "random", "test_fraction": 0.1}).load()
    side = {}
    for name, split in (("train", bundle.train), ("val", bundle.val), ("test", bundle.test)):
        for i in map(str, split.ids):
            if i.startswith("test:"):
                side.setdefault(re.sub(r"_(peak|shuf)$", "", i), set()).add(name)
    assert len(side) == 500 and all(len(s) == 1 for s in side.values())


def test_a_fasta_file_with_a_byte_order_mark_reads(tmp_path):
    from genarch.data.readers import read_fasta

    path = tmp_path / "bom.fa"
    path.write_bytes("\ufeff>a\nACGT\n>b\nACGA\n".encode("utf-8"))
    ids, seqs, _ = read_fasta(path)
    assert ids == ["a", "b"] and seqs == ["ACGT", "ACGA"]


@pytest.mark.parametrize("text, expected", [
    ("column,group\nt1,a\nt2,a\nt3,b\n", ["a", "b"]),
    ("cell_type,lineage\nt1,\"a, b\"\nt2,\"a, b\"\nt3,c\n", ["a, b", "c"]),   # any header; quoted names
    ("\ufefft1,a\nt2,a\nt3,b\n", ["a", "b"]),                                  # no header, a BOM
    ("t1,a\nt2,b\nt1,c\n", "column 't1' is given a group twice (first on line 1)"),
    ("t1,a\nt2,b\nt9,c\n", "[t9]: unknown target column 't9'"),       # was named without its file or line
])
def test_target_group_files(tmp_path, text, expected):
    from genarch.data.errors import DataError
    from genarch.data.targets import group_targets, load_group_spec

    path = tmp_path / "groups.csv"
    path.write_bytes(text.encode("utf-8"))
    names = ["t1", "t2", "t3"]
    if isinstance(expected, str):
        with pytest.raises(DataError, match=re.escape(expected)) as err:
            load_group_spec(str(path), names)
        assert "groups.csv:3" in str(err.value)
        return
    _, groups = group_targets(np.ones((2, 3), dtype=np.float32), names, load_group_spec(str(path), names))
    assert groups == expected


def test_a_group_mapping_with_integer_keys_names_header_less_columns():
    from genarch.data.targets import group_targets

    y, groups = group_targets(np.arange(6, dtype=np.float32).reshape(2, 3), ["1", "2", "3"], {1: "a", 2: "a", 3: "b"})
    assert groups == ["a", "b"] and y.tolist() == [[0.5, 2.0], [3.5, 5.0]]


@pytest.mark.parametrize("y, message", [
    (np.array([0.0, np.inf, 1.0, 0.0]), "infinite or out-of-float32-range target at row 1, column 0"),
    (np.zeros((4, 2, 3)), r"targets must be \(N,\) or \(N, T\), got shape \(4, 2, 3\)"),
    (np.array(["a", "b", "c", "d"]), "targets must be numbers"),
])
def test_npy_targets_that_are_not_finite_numbers_name_the_file(tmp_path, y, message):
    from genarch.data.errors import DataError
    from genarch.data.sources import NpyDataset

    x = np.eye(4, dtype=np.uint8)[np.zeros((4, 10), dtype=int)].transpose(0, 2, 1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    with pytest.raises(DataError, match=message) as err:
        NpyDataset(x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy")).load()
    assert "y.npy" in str(err.value)


@pytest.mark.parametrize("files, bad_file, bad_line", [
    # (file contents per train file), the file and line the error must name
    ([["ACGT,1", "ACGA,2"]], "a0.csv", 3),
    ([["ACGT,1", "ACGA,0"], ["ACGC,1", "ACGG,0", "ACTT,0.5"]], "a1.csv", 4),
    ([["ACGT,-1", "ACGA,0"], ["ACGC,1"]], "a0.csv", 2),
])
def test_a_target_that_is_not_0_or_1_names_its_file_and_line(tmp_path, files, bad_file, bad_line):
    from genarch.data.errors import DataError
    from genarch.data.sources import TableDataset

    paths = []
    for i, rows in enumerate(files):
        paths.append(tmp_path / f"a{i}.csv")
        paths[-1].write_text("sequence,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="is not 0/1") as err:
        TableDataset(train=[str(p) for p in paths], task="binary").load()
    assert (Path(err.value.path).name, err.value.line) == (bad_file, bad_line)


def test_a_group_array_of_the_wrong_length_names_its_file(tmp_path):
    from genarch.data.errors import DataError
    from genarch.data.sources import TableDataset

    (tmp_path / "t.csv").write_text("sequence,a,b,c\n" + "".join(f"ACGTACGT,{i},{i},{i}\n" for i in range(20)))
    np.save(tmp_path / "groups.npy", np.array(["x", "y"], dtype=object))
    data = TableDataset(train="t.csv", data_root=str(tmp_path), target_groups="groups.npy", split={"kind": "random"})
    with pytest.raises(DataError, match=r"groups.npy: 2 group labels for 3 target columns"):
        data.load()


def test_an_id_in_two_files_pooled_into_one_role_is_refused_naming_both(tmp_path):
    from genarch.data.errors import DataError
    from genarch.data.sources import TableDataset

    for name, first in (("a.csv", 0), ("b.csv", 19)):
        (tmp_path / name).write_text("id,sequence,y\n" + "".join(f"r{first + i},ACGTACGT,{i % 2}\n" for i in range(20)))
    roles = {"train": ["a.csv", "b.csv"]}
    # an id may repeat across roles (a test copy of a training sequence keeps its id in public sets)
    TableDataset(train="a.csv", test="b.csv", id_column="id", data_root=str(tmp_path), split={"kind": "random"}).load()
    data = TableDataset(**roles, id_column="id", data_root=str(tmp_path), split={"kind": "random"})
    with pytest.raises(DataError, match=r"b.csv:2 \[r19\]: duplicate id 'r19' \(first seen in .*a.csv line 21\)"):
        data.load()
    (tmp_path / "b.csv").write_text("id,sequence,y\n" + "".join(f"s{i},ACGTACGT,{i % 2}\n" for i in range(20)))
    assert len(TableDataset(**roles, id_column="id", data_root=str(tmp_path),
                            split={"kind": "random"}).load().train) > 0


def _npy_files(tmp_path, x=None, ids=None, names=None):
    x = np.eye(4, dtype=np.uint8)[np.arange(40).reshape(4, 10) % 4].transpose(0, 2, 1) if x is None else x
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.zeros((4, 2), dtype=np.float32))
    if ids is not None:
        np.save(tmp_path / "ids.npy", np.array(ids))
    if names is not None:
        np.save(tmp_path / "names.npy", np.array(names, dtype=object))
    return x


@pytest.mark.parametrize("case, kwargs, message", [
    # was AttributeError
    ("npz", {"x": "x.npz"}, r"^\S*/x.npz: expected one array \(.npy\), found an .npz archive of \['x'\]"),
    ("names", {"target_names": "names.npy", "target_names_column": 5},
     r"names.npy \[target_names_column\]: target_names_column 5 is out of range for the 2 columns"),  # was IndexError
    ("two_bases", {}, r"x.npy \[\[2\]\]: sequence 2 has 2 bases set at position 3"),  # was accepted
    ("ids", {"ids": "ids.npy"}, r"ids.npy \[r0\]: duplicate id 'r0' at index 3 \(first at index 0\)"),  # was 'line 0'
])
def test_npy_inputs_that_are_not_what_the_docs_say_are_named(tmp_path, case, kwargs, message):
    from genarch.data.errors import DataError
    from genarch.data.sources import NpyDataset

    x = _npy_files(tmp_path, ids=["r0", "r1", "r2", "r0"], names=[["a", "x"], ["b", "y"]])
    if case == "npz":
        np.savez(tmp_path / "x.npz", x=x)
    if case == "two_bases":
        x[2, :, 3] = [1, 1, 0, 0]
        np.save(tmp_path / "x.npy", x)
    given = {"x": "x.npy", "y": "y.npy", **kwargs}
    with pytest.raises(DataError, match=message):
        NpyDataset(**given, data_root=str(tmp_path)).load()


def test_an_all_zero_npy_column_is_n_and_reads(tmp_path):
    from genarch.data.sources import NpyDataset

    x = _npy_files(tmp_path)
    x[1, :, 4:] = 0  # an N run (padding) at the end of sequence 1
    np.save(tmp_path / "x.npy", x)
    assert NpyDataset(x="x.npy", y="y.npy", data_root=str(tmp_path)).load().seq_len == 10
