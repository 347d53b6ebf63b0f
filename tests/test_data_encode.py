"""One-hot encoding: lookup-table encoding, N handling, lengths, reverse complement, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genarch.data.base import to_float
from genarch.data.encode import decode, one_hot, reorder_bases, reverse_complement
from genarch.data.errors import DataError


@pytest.mark.parametrize(
    "seq, expected_rows",
    [
        ("ACGT", ["1000", "0100", "0010", "0001"]),
        ("acgt", ["1000", "0100", "0010", "0001"]),
        ("TTA", ["001", "000", "000", "110"]),
        ("NA", ["01", "00", "00", "00"]),  # N -> all-zero with n_value=0
    ],
)
def test_one_hot_table(seq, expected_rows):
    x = one_hot([seq])
    assert x.dtype == np.uint8 and x.shape == (1, 4, len(seq))
    assert ["".join(map(str, row)) for row in x[0]] == expected_rows


@pytest.mark.parametrize("n_value, column", [(0, [0, 0, 0, 0]), (0.25, [0.25, 0.25, 0.25, 0.25])])
def test_n_value(n_value, column):
    x = one_hot(["ANC"], n_value=n_value)
    assert x.dtype == np.uint8
    assert to_float(x)[0, :, 1].tolist() == column
    assert to_float(x)[0, :, 0].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize(
    "seqs, length, mode, expected",
    [
        (["ACGT", "AC"], None, "pad", ["ACGT", "AC.."]),
        (["ACGTAC"], 4, "trim", ["ACGT"]),
        (["ACGTAC"], 4, "centre", ["CGTA"]),
        (["AC"], 4, "centre", [".AC."]),
        (["ACG"], 6, "centre", [".ACG.."]),
        (["AC"], 3, "pad", ["AC."]),
    ],
)
def test_length_modes(seqs, length, mode, expected):
    x = one_hot(seqs, length=length, length_mode=mode)
    assert decode(x, zero_as=".") == expected


def test_pad_mode_rejects_longer_sequences_with_line():
    with pytest.raises(DataError, match=r"f.tsv:7: .*longer than length=3"):
        one_hot(["AC", "ACGT"], length=3, length_mode="pad", source="f.tsv", lines=[6, 7])


@pytest.mark.parametrize("seq, char, pos", [("ACGX", "X", 4), ("A-CG", "-", 2), ("AC GT", " ", 3), ("ACGé", "é", 4)])
def test_illegal_character_names_file_line_and_character(seq, char, pos):
    with pytest.raises(DataError) as err:
        one_hot(["ACGT", seq], source="data.csv", lines=[2, 3])
    msg = str(err.value)
    assert msg.startswith("data.csv:3: ") and repr(char) in msg
    assert err.value.line == 3 and isinstance(err.value, ValueError)


def test_reverse_complement_and_base_order():
    x = one_hot(["AACGTN"], n_value=0.25)
    assert decode(reverse_complement(x)) == ["NACGTT"]
    agct = x[:, [0, 2, 1, 3], :]  # rows stored A, G, C, T
    assert np.array_equal(reorder_bases(agct, "AGCT"), x)
    with pytest.raises(DataError, match="base_order"):
        reorder_bases(x, "ACGG")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ACGTacgtN", min_size=1, max_size=60), min_size=1, max_size=20))
def test_round_trip(seqs):
    x = one_hot(seqs, n_value=0.25)
    assert x.shape == (len(seqs), 4, max(map(len, seqs)))
    decoded = decode(x, zero_as="")
    assert decoded == [s.upper() for s in seqs]
    assert set(np.unique(x)) <= {0, 1}
    assert np.array_equal(reverse_complement(reverse_complement(x)), x)
