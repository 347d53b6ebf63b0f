"""Readers on the real files in ../shared/data, and clear errors on bad input."""

import re
import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genarch.data.encode import decode
from genarch.data.errors import DataError
from genarch.data.readers import parse_fasta, read_fasta_with_targets, read_table
from genarch.data.shuffle import dinucleotide_counts
from genarch.data.sources import GUE, DeepBindENCODE, FastaDataset, NpyDataset, TableDataset, read_deepbind

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not found at {DATA} (../shared/data)")


# ---------------------------------------------------------------- real files
@needs_data
def test_deepbind_experiment_by_prefix_with_shuffled_negatives():
    ds = DeepBindENCODE("CTCFL_K562", data_root=str(DATA), seed=3, max_train=2000)
    b = ds.load()
    assert ds.experiment == "CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha"
    assert b.task == "binary" and b.seq_len == 101 and len(b.train) == 2000
    assert len(b.test) == 1000 and b.test.y.mean() == 0.5  # the B file: 500 + 500
    # every negative is a dinucleotide shuffle of its positive, and the pair never straddles train/val
    ids = list(b.train.ids) + list(b.val.ids)
    seqs = decode(np.concatenate([b.train.x, b.val.x]))
    by_id = dict(zip(ids, seqs))
    pairs = [(i, i + "_shuf") for i in ids if not i.endswith("_shuf") and i + "_shuf" in by_id]
    assert len(pairs) > 500
    for pos, neg in pairs[:200]:
        assert dinucleotide_counts(by_id[pos]) == dinucleotide_counts(by_id[neg])
    train_ids, val_ids = set(b.train.ids), set(b.val.ids)
    assert not {i.removesuffix("_shuf") for i in train_ids} & {i.removesuffix("_shuf") for i in val_ids}
    again = DeepBindENCODE("CTCFL_K562", data_root=str(DATA), seed=3, max_train=2000).load()
    assert np.array_equal(again.train.x, b.train.x)  # seeded


@needs_data
def test_deepbind_fixed_val_scores_every_training_size_on_the_full_protocols_validation_set():
    full = DeepBindENCODE("MYC_H1-hESC", data_root=str(DATA), seed=0).load()
    for size in (300, 900):
        fixed = DeepBindENCODE("MYC_H1-hESC", data_root=str(DATA), seed=0, max_train=size, fixed_val=True).load()
        assert len(fixed.train) == size and np.array_equal(fixed.val.x, full.val.x)
        assert set(fixed.train.ids) < set(full.train.ids)
    shrunk = DeepBindENCODE("MYC_H1-hESC", data_root=str(DATA), seed=0, max_train=300).load()
    assert len(shrunk.val) < 50 < len(full.val)  # without it, validation is drawn with the subsample


@needs_data
@pytest.mark.parametrize("name, message", [("NOPE", "unknown experiment 'NOPE'"), ("ARID3A", "ambiguous"),
                                           ("CTCF_NH-A", "test file only")])
def test_deepbind_bad_experiment_lists_options(name, message):
    with pytest.raises(DataError, match=message) as err:
        DeepBindENCODE(name, data_root=str(DATA))
    assert "ARID3A_HepG2" in str(err.value) or "CTCFL" in str(err.value)


@needs_data
def test_deepbind_reader_columns():
    raw = read_deepbind(DATA / "tfbs/deepbind_encode/test/MYC_H1-hESC_c-Myc_Stanford_B.seq.gz")
    assert len(raw) == 1000 and raw.target_names == ["Bound"] and set(np.unique(raw.y)) == {0.0, 1.0}
    assert raw.lines[0] == 2 and all(len(s) == 101 for s in raw.seqs)


@needs_data
@pytest.mark.parametrize("task, n_test", [("tf/0", 1000), ("mouse/2", 328)])
def test_gue(task, n_test):
    b = GUE(task, data_root=str(DATA), max_train=500).load()
    assert b.task == "binary" and len(b.test) == n_test and len(b.train) == 500 and b.seq_len == 101


@needs_data
@pytest.mark.parametrize(
    "kwargs, n_outputs, length",
    [
        (dict(train="expression/vaishnav2022_yeast/Native_defined.csv", target_columns=["Measured Expression"]),
         1, 110),
        (dict(train="expression/vaishnav2022_yeast/Random_defined.csv", seq_column="seq110",
              target_columns=["Measured Expression"]), 1, 110),
        (dict(train="expression/lentimpra_wtc11/WTC11_valid.tsv", test="expression/lentimpra_wtc11/WTC11_test.tsv",
              seq_column="seq", target_columns=["mean_value"]), 1, 230),
        (dict(train="expression/dream2022_samples/yeast/demo_train.txt", header=False, seq_column=0,
              target_columns=[1], length=110, length_mode="trim"), 1, 110),
        (dict(train="expression/dream2022_samples/human/sample_train.txt",
              test="expression/dream2022_samples/human/sample_test.txt", seq_column="seq",
              target_columns=["mean_value"], id_column="seq_id"), 1, 230),
        (dict(train="expression/dream2022_samples/drosophila/sample_train.txt",
              dev="expression/dream2022_samples/drosophila/sample_val.txt",
              test="expression/dream2022_samples/drosophila/sample_test.txt", seq_column="Sequence",
              target_columns=["Dev_log2_enrichment", "Hk_log2_enrichment"], id_column="ID"), 2, 249),
    ],
)
def test_tables(kwargs, n_outputs, length):
    b = TableDataset(data_root=str(DATA), **kwargs).load()
    assert b.task == "regression" and b.n_outputs == n_outputs and b.seq_len == length
    assert b.train.x.dtype == np.uint8 and b.train.y.dtype == np.float32 and np.isfinite(b.train.y).all()
    assert len(b.train) > len(b.val) > 0 and b.test is not None and len(b.test) > 0


@needs_data
def test_npy_aitac_grouped_into_lineages():
    root = DATA / "expression/aitac_immgen_sample"
    ds = NpyDataset(x="one_hot_seqs.npy", y="cell_type_array.npy", ids="peak_names.npy",
                    target_names="cell_type_names.npy", target_names_column=1,
                    target_groups={"path": "cell_type_names.npy", "column": 2}, data_root=str(root),
                    split={"kind": "kfold", "k": 10, "fold": 0})
    b = ds.load()
    names = np.load(root / "cell_type_names.npy", allow_pickle=True)
    y = np.load(root / "cell_type_array.npy")
    assert b.seq_len == 251 and b.n_outputs == 7 and b.target_names[0] == "B"
    b_cols = [i for i, g in enumerate(names[:, 2]) if g == "B"]
    full = {i: row for i, row in zip(b.train.ids, b.train.y)}
    pid = b.train.ids[0]
    k = [n.decode() for n in np.load(root / "peak_names.npy")].index(pid)
    assert np.allclose(full[pid][0], y[k, b_cols].mean())
    assert len(b.train) + len(b.val) + len(b.test) == 100


@needs_data
def test_fasta_with_targets(tmp_path):
    src = (DATA / "expression/lentimpra_wtc11/WTC11_test.tsv").read_text().splitlines()[1:51]
    fasta = tmp_path / "seqs.fa"
    fasta.write_text("".join(f">el{i} desc\n{line.split()[0][:100]}\n{line.split()[0][100:]}\n"
                             for i, line in enumerate(src)))
    targets = tmp_path / "targets.tsv"
    targets.write_text("id\tmean_value\n" + "".join(f"el{i}\t{line.split()[1]}\n"
                                                    for i, line in reversed(list(enumerate(src)))))
    raw = read_fasta_with_targets(fasta, targets)
    assert raw.seqs[3] == src[3].split()[0] and raw.y[3, 0] == np.float32(src[3].split()[1])
    b = FastaDataset(fasta=str(fasta), targets=str(targets), split={"kind": "kfold", "k": 5, "fold": 1}).load()
    assert b.seq_len == 230 and len(b.test) == 10


# ---------------------------------------------------------------- bad input
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "name, content, kwargs, pattern",
    [
        ("empty.csv", "", {}, r"empty.csv: file is empty"),
        ("header.csv", "sequence,label\n", {}, r"header.csv: file has a header but no records"),
        ("col.csv", "seq,label\nACGT,1\n", {}, r"col.csv \[sequence\]: missing column 'sequence'"),
        ("nan.csv", "sequence,y\nACGT,1\nACGT,\nACGT,2\n", {}, r"nan.csv:3 \[y\]: missing \(NaN\) target"),
        ("nan2.tsv", "sequence\ty\nACGT\t1\nACGT\tNaN\n", {}, r"nan2.tsv:3 \[y\]: missing \(NaN\) target"),
        ("text.csv", "sequence,y\nACGT,high\n", {}, r"text.csv:2 \[y\]: non-numeric target 'high'"),
        ("dup.csv", "id,sequence,y\na,ACGT,1\nb,ACGT,2\na,ACGT,3\n", {"id_column": "id"},
         r"dup.csv:4 \[a\]: duplicate id 'a' \(first seen on line 2\)"),
        ("noseq.csv", "sequence,y\nACGT,1\n,2\n", {}, r"noseq.csv:3: empty sequence"),
    ],
)
def test_table_errors(tmp_path, name, content, kwargs, pattern):
    with pytest.raises(DataError, match=pattern):
        read_table(_write(tmp_path / name, content), **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothere.csv: data file not found"):
        read_table(tmp_path / "nothere.csv")


def test_illegal_character_through_a_dataset(tmp_path):
    _write(tmp_path / "bad.csv", "sequence,y\nACGT,1\nACGT,2\nACZT,3\n")
    with pytest.raises(DataError, match=r"bad.csv:4: illegal character 'Z' at position 3"):
        TableDataset(train=str(tmp_path / "bad.csv")).load()


def test_truncated_gzip(tmp_path):
    good = gzip.compress(b"FoldID\tEventID\tseq\tBound\n" + b"A\tid%d\tACGTACGTAC\t1\n" * 2000)
    path = tmp_path / "x_AC.seq.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"x_AC.seq.gz: cannot read compressed file \(truncated or corrupt gzip"):
        read_deepbind(path)


def test_fasta_target_count_mismatch(tmp_path):
    fa = _write(tmp_path / "a.fa", ">s1\nACGT\n>s2\nACGG\n>s3\nAAAA\n")
    t = _write(tmp_path / "t.tsv", "id\ty\ns1\t1\ns2\t2\n")
    with pytest.raises(DataError, match=r"a.fa:5 \[s3\]: 1 FASTA record\(s\) have no targets .*3 sequences vs 2"):
        read_fasta_with_targets(fa, t)
    t2 = _write(tmp_path / "t2.tsv", "id\ty\ns1\t1\ns2\t2\ns3\t3\ns4\t4\n")
    with pytest.raises(DataError, match=r"t2.tsv:5 \[s4\]: target row for id 's4' has no FASTA record"):
        read_fasta_with_targets(fa, t2)


def test_npy_count_mismatch_and_nan(tmp_path):
    x = np.zeros((5, 4, 10), dtype=np.int8)
    x[:, 0, :] = 1
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.zeros((4, 2), np.float32))
    with pytest.raises(DataError, match=r"y.npy: 5 sequences in x.npy but 4 target rows"):
        NpyDataset(x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy")).load()
    y = np.zeros((5, 2), np.float32)
    y[3, 1] = np.nan
    np.save(tmp_path / "y.npy", y)
    with pytest.raises(DataError, match=r"y.npy \[\[3, 1\]\]: NaN target at row 3, column 1"):
        NpyDataset(x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy")).load()


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("ACGT\n>a\nAC\n", r"f.fa:1: sequence data before the first '>'"),
        (">a\nAC\n>a\nGG\n", r"f.fa:3 \[a\]: duplicate id 'a'"),
        (">a\n>b\nAC\n", r"f.fa:1 \[a\]: record 'a' has no sequence"),
        ("\n\n", r"f.fa: no FASTA records"),
    ],
)
def test_fasta_errors(text, pattern):
    with pytest.raises(DataError, match=pattern):
        parse_fasta(text, "f.fa")


_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=12)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_ids, st.text(alphabet="ACGTNacgtn", min_size=1, max_size=200)), min_size=1, max_size=15,
                unique_by=lambda r: r[0]), st.integers(1, 80))
def test_fasta_parse_of_generated_records(records, width):
    text = "".join(f">{i} some description\n" + "\n".join(s[j:j + width] for j in range(0, len(s), width)) + "\n"
                   for i, s in records)
    ids, seqs, lines = parse_fasta(text, "gen.fa")
    assert ids == [i for i, _ in records] and seqs == [s for _, s in records]
    assert [text.splitlines()[ln - 1].startswith(">" + i) for i, ln in zip(ids, lines)] == [True] * len(ids)


@pytest.mark.parametrize("text, line, column, char", [
    (">a\nACGT\nACZT\n>b\nAAAA\n", 3, 3, "Z"),                # second line of a multi-line record
    (">a\nACGT\n>b\nAAAA\n\nAAAA\nAAR\n", 7, 3, "R"),         # after a blank line, in the last record
    (">a\nAC-T\n", 2, 3, "-"),                                # a one-line record
    (">a\nACGT\nAC T\n", 3, 3, " "),                          # a space inside a line
    (">a\nACGT\n  ACXT\n", 3, 5, "X"),                        # the file's column, leading blanks counted
])
def test_an_illegal_fasta_character_is_named_at_its_own_line(text, line, column, char):
    with pytest.raises(DataError, match=rf"x.fa:{line} \[\w\]: illegal character {re.escape(repr(char))} "
                                        rf"at column {column} in record") as err:
        parse_fasta(text, "x.fa")
    assert err.value.line == line


@pytest.mark.parametrize("content, kwargs, pattern", [
    # a quoted field that spans two lines moves every later record one line down
    ('sequence,y,note\nACGT,1,"two\nlines"\nACGT,2,ok\nACGT,x,ok\n', {"target_columns": ["y"]},
     r"t.csv:5 \[y\]: non-numeric target 'x'"),
    ('sequence,y,note\n\nACGT,1,"a\n\nb"\nACGT,x,ok\n', {"target_columns": ["y"]},
     r"t.csv:6 \[y\]: non-numeric target 'x'"),
    # a column named twice is refused, not read as 'y' and 'y.1'
    ("sequence,y,y\nACGT,1,2\n", {}, r"t.csv:1 \[y\]: column 'y' appears more than once in the header"),
    # an empty id is an empty id, not an empty sequence
    ("id,sequence,y\na,ACGT,1\n,ACGT,2\n", {"id_column": "id"}, r"t.csv:3: empty id in column 'id'"),
])
def test_table_lines_columns_and_ids(tmp_path, content, kwargs, pattern):
    with pytest.raises(DataError, match=pattern):
        read_table(_write(tmp_path / "t.csv", content), **kwargs)


def test_a_target_table_with_an_empty_id_says_id(tmp_path):
    fa = _write(tmp_path / "a.fa", ">s1\nACGT\n>s2\nACGG\n")
    t = _write(tmp_path / "t.tsv", "id\ty\ns1\t1\n\t2\n")
    with pytest.raises(DataError, match=r"t.tsv:3: empty id in column 'id'"):
        read_fasta_with_targets(fa, t)


@pytest.mark.parametrize("length, mode, refused", [
    (None, "pad", True),       # every base is kept
    (8, "trim", False),        # the R lies in the cut-away tail
    (4, "centre", False),      # the central 4 bases of ACGTACGTRR are 'TACG': R cut away
    (9, "trim", True),         # the first 9 bases keep the R
])
def test_a_fasta_flank_that_the_length_cuts_away_may_hold_any_letter(tmp_path, length, mode, refused):
    fa = _write(tmp_path / "a.fa", ">s1\nACGTACGT\nRR\n>s2\nACGTACGTAA\n")
    t = _write(tmp_path / "t.tsv", "id\ty\ns1\t1\ns2\t2\n")
    if refused:
        with pytest.raises(DataError, match=r"a.fa:3 \[s1\]: illegal character 'R' at column 1"):
            FastaDataset(fasta=str(fa), targets=str(t), length=length, length_mode=mode).load()
    else:
        from genarch.data.encode import one_hot

        raw = read_fasta_with_targets(fa, t, length=length, length_mode=mode)
        assert one_hot(raw.seqs, 0, length, mode).shape == (2, 4, length)


def test_blank_header_cells_of_a_spreadsheet_export_are_not_a_repeated_column(tmp_path):
    raw = read_table(_write(tmp_path / "t.csv", "sequence,y,,\nACGT,1,,\nACGA,2,,\n"), target_columns=["y"])
    assert raw.y[:, 0].tolist() == [1.0, 2.0]


def test_a_long_field_in_a_quoted_table_keeps_its_lines(tmp_path):
    long = "A" * 200_000
    path = _write(tmp_path / "t.csv", f'sequence,y,note\n{long},1,"a"\nACGT,x,b\n')
    with pytest.raises(DataError, match=r"t.csv:3 \[y\]: non-numeric target 'x'"):
        read_table(path, target_columns=["y"])


# ---------------------------------------------------------------- line ends, control characters, extra fields
@pytest.mark.parametrize("text, line, column, char", [
    (">a\nAC\x0cGT\n", 2, 3, "\x0c"),                             # a form feed was a line break: dropped silently
    (">a desc\x0cmore\nACGT\n>b\nAAXA\n", 4, 3, "X"),            # ... and moved every later line number by one
    (">a desc\u2028more\nACGT\n>b\nAAXA\n", 4, 3, "X"),
    (">a\r\nACGT\r\n>b\r\nAAXA\r\n", 4, 3, "X"),
])
def test_fasta_lines_are_split_at_newlines_only(tmp_path, text, line, column, char):
    path = tmp_path / "x.fa"
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(DataError, match=rf"x.fa:{line} \[\w\]: illegal character {re.escape(repr(char))} "
                                        rf"at column {column} in record"):
        read_fasta_with_targets(path, _write(tmp_path / "y.tsv", "id\ty\na\t1\nb\t2\n"))


@pytest.mark.parametrize("content, expected", [
    ("sequence,label\rACGT,1\rACGA,0\r", [1, 0]),                # CR line ends with a header: was a csv.Error
    ("sequence,label\r\nACGT,1\r\nACGA,0\r\n", [1, 0]),
    ("sequence,label\nACGT,1,\nACGA,0,\n", [1, 0]),               # a trailing comma on every row: was 'missing target'
])
def test_tables_with_other_line_ends_and_empty_extra_fields_read(tmp_path, content, expected):
    path = tmp_path / "t.csv"
    path.write_bytes(content.encode())
    raw = read_table(path)
    assert raw.seqs == ["ACGT", "ACGA"] and raw.y[:, 0].tolist() == expected and raw.lines.tolist() == [2, 3]


@pytest.mark.parametrize("name, content, sep", [
    ("r.tsv", 'sequence\ty\nr1\tACGT\t1.0\nr2\tAAAA\t2.0\n', None),  # R's write.table: row names, header one short
    ("r.csv", '"sequence","y"\n"1","ACGT",1\n"2","AAAA",2\n', None),
    ("m.txt", "sequence::y\nACGT::1.0\nAAAA::2.0\n", "::"),          # a separator of several characters
    ("s.txt", "sequence, y\nACGT, 1.0\nAAAA, 2.0\n", ", "),
])
def test_row_names_and_long_separators_read(tmp_path, name, content, sep):
    raw = read_table(_write(tmp_path / name, content), sep=sep, target_columns=["y"])
    assert raw.seqs == ["ACGT", "AAAA"] and raw.y[:, 0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("content, line, extra", [
    ("sequence,label\nACGT,1\nACGA,0,4\n", 3, "'4'"),            # was: the value silently dropped
    ("sequence,label\nACGT,1\nACGA,0\nACGG,1,x\n", 4, "'x'"),  # was pandas' 'Expected 2 fields in line 4'
])
def test_a_value_in_a_field_beyond_the_header_is_refused_at_its_line(tmp_path, content, line, extra):
    with pytest.raises(DataError,
                       match=rf"t.csv:{line}: 3 fields but the header names 2 columns \(extra value {extra}\)"):
        read_table(_write(tmp_path / "t.csv", content))
