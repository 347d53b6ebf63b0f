"""Targets that are not finite float32 values are named by file, line and column; ``val_from=dev`` is
refused where no dev file can be the validation set."""

import pytest


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
