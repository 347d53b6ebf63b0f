"""``python -m genarch.predict``: scores FASTA, DeepBind .seq.gz, tables and .npy with a trained run; the
scores are the model's own in the run's evaluation; reverse-complement averaging; the readers' errors."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = next((p for p in (REPO.parent / "shared" / "data", Path(os.environ.get("GENARCH_DATA", "/nonexistent")))
             if (p / "tfbs" / "deepbind_encode" / "test").is_dir()), None)
needs_data = pytest.mark.skipif(DATA is None, reason="real data not found (../shared/data or GENARCH_DATA)")
EXPERIMENT = "CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha"
TINY = ["trainer=smoke", "trainer.batch_size=50", "model.stem.filters=8", "logger=none", "++summary=false"]


def genarch(run_dir: Path, cache: Path, *overrides: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "genarch", *TINY, *overrides, f"hydra.run.dir={run_dir}"], cwd=REPO,
                          capture_output=True, text=True, timeout=400, env={**os.environ, "GENARCH_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((run_dir / "result.json").read_text())


def predict_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genarch.predict", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def own_evaluation(run_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """What the run's evaluation scored on its test split: (probabilities, labels, ids), recomputed from the
    run's config and weights the way runner.train does (``predict`` on the encoded test split)."""
    from omegaconf import OmegaConf

    from genarch.data import load_dataset
    from genarch.training.module import predict
    from genarch.training.runner import load_trained

    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    bundle = load_dataset(cfg.dataset)
    net, _ = load_trained(run_dir)
    logits = predict(net, bundle.test.x, 1000)
    return torch.sigmoid(torch.from_numpy(logits)).numpy(), bundle.test.y, [str(i) for i in bundle.test.ids]


def write_fasta(path: Path, ids, seqs) -> Path:
    path.write_text("".join(f">{i}\n{s[:50]}\n{s[50:]}\n" for i, s in zip(ids, seqs)))  # multi-line records
    return path


# -- a run on real DeepBind data: the .seq.gz test file scores as in the run's own evaluation --------

@pytest.fixture(scope="module")
def deepbind_run(tmp_path_factory):
    if DATA is None:
        pytest.skip("real data not found (../shared/data or GENARCH_DATA)")
    root = tmp_path_factory.mktemp("deepbind")
    source = DATA / "tfbs" / "deepbind_encode"
    for part, suffix, keep in (("train", "AC", lambda n: n <= 200),
                               ("test", "B", lambda n: n <= 31 or 502 <= n <= 531)):
        lines = gzip.decompress((source / part / f"{EXPERIMENT}_{suffix}.seq.gz").read_bytes()).decode().split("\n")
        (root / "tfbs" / "deepbind_encode" / part).mkdir(parents=True)
        text = "\n".join(line for n, line in enumerate(lines, start=1) if keep(n) and line) + "\n"
        (root / "tfbs" / "deepbind_encode" / part / f"{EXPERIMENT}_{suffix}.seq.gz").write_bytes(
            gzip.compress(text.encode()))
    run_dir = root / "run"
    result = genarch(run_dir, root / "cache", "dataset=deepbind_encode", f"dataset.data_root={root}",
                     "dataset.experiment=CTCFL_K562")
    return run_dir, root / "tfbs" / "deepbind_encode" / "test" / f"{EXPERIMENT}_B.seq.gz", result


@needs_data
def test_seq_gz_scores_equal_the_runs_own_evaluation(deepbind_run, tmp_path):
    from sklearn.metrics import roc_auc_score

    run_dir, seq_gz, result = deepbind_run
    out = tmp_path / "scores.tsv"
    proc = predict_cli(run_dir, seq_gz, "--out", out, "--batch-size", "7")  # several batches, one short
    assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(out, sep="\t")
    assert list(scores.columns) == ["id", "bound"] and len(scores) == 60
    probs, labels, ids = own_evaluation(run_dir)
    assert [f"test:{i}" for i in scores["id"]] == ids  # the dataset prefixes test ids with "test:"
    np.testing.assert_allclose(scores["bound"], probs[:, 0], rtol=1e-5, atol=1e-6)  # the file keeps 6 digits
    assert roc_auc_score(labels[:, 0], scores["bound"]) == pytest.approx(result["metrics"]["test"]["auroc"], abs=1e-6)


@needs_data
def test_fasta_of_the_same_sequences_scores_the_same(deepbind_run, tmp_path):
    from genarch.data.sources import read_deepbind
    from genarch.predict import predict_file

    run_dir, seq_gz, _ = deepbind_run
    raw = read_deepbind(seq_gz)
    fasta = write_fasta(tmp_path / "in.fa", raw.ids, raw.seqs)
    from_seq, from_fasta = predict_file(run_dir, seq_gz), predict_file(run_dir, fasta, batch_size=16)
    assert from_fasta["id"].tolist() == from_seq["id"].tolist()
    np.testing.assert_allclose(from_fasta["bound"], from_seq["bound"], rtol=1e-6)
    assert from_seq["bound"].between(0, 1).all()


# -- a run on the embedded synthetic data: FASTA, table and .npy; rc averaging; errors --------------

@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    run_dir = root / "run"
    genarch(run_dir, root / "cache", "dataset.n=400")
    probs, labels, ids = own_evaluation(run_dir)
    from genarch.data.encode import decode
    from omegaconf import OmegaConf

    from genarch.data import load_dataset

    bundle = load_dataset(OmegaConf.load(run_dir / ".hydra" / "config.yaml").dataset)
    return run_dir, decode(bundle.test.x), ids, probs, bundle.test.x


def test_fasta_scores_equal_the_runs_own_evaluation(synthetic_run, tmp_path):
    run_dir, seqs, ids, probs, _ = synthetic_run
    fasta = write_fasta(tmp_path / "test.fa", ids, seqs)
    proc = predict_cli(run_dir, fasta)  # TSV on stdout
    assert proc.returncode == 0, proc.stderr
    from io import StringIO

    scores = pd.read_csv(StringIO(proc.stdout), sep="\t", dtype={"id": str})
    assert scores["id"].tolist() == ids
    np.testing.assert_allclose(scores.iloc[:, 1], probs[:, 0], rtol=1e-5, atol=1e-6)


def test_table_npy_and_gzip_inputs_score_alike(synthetic_run, tmp_path):
    from genarch.predict import predict_file

    run_dir, seqs, ids, probs, x = synthetic_run
    pd.DataFrame({"name": ids, "sequence": seqs, "other": 1}).to_csv(tmp_path / "t.csv", index=False)
    table = predict_file(run_dir, tmp_path / "t.csv", id_column="name")
    (tmp_path / "t.tsv.gz").write_bytes(
        gzip.compress(pd.DataFrame({"sequence": seqs}).to_csv(sep="\t", index=False).encode()))
    no_ids = predict_file(run_dir, tmp_path / "t.tsv.gz")
    np.save(tmp_path / "x.npy", x.transpose(0, 2, 1))  # (N, L, 4): the layout is read from the shape
    onehot = predict_file(run_dir, tmp_path / "x.npy")
    assert table["id"].tolist() == ids and no_ids["id"].tolist()[0] == "t.tsv.gz:2"
    for frame in (table, no_ids, onehot):
        np.testing.assert_allclose(frame.iloc[:, 1], probs[:, 0], rtol=1e-5, atol=1e-6)


def test_rc_average_is_strand_symmetric(synthetic_run, tmp_path):
    from genarch.predict import predict_file

    run_dir, seqs, ids, _, _ = synthetic_run
    rc = ["".join({"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}[b] for b in reversed(s)) for s in seqs]
    forward = predict_file(run_dir, write_fasta(tmp_path / "f.fa", ids, seqs), rc_average=True)
    reverse = predict_file(run_dir, write_fasta(tmp_path / "r.fa", ids, rc), rc_average=True)
    plain = predict_file(run_dir, tmp_path / "f.fa")
    np.testing.assert_allclose(forward.iloc[:, 1], reverse.iloc[:, 1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(forward.iloc[:, 1], plain.iloc[:, 1])  # averaging changes the scores


@pytest.mark.parametrize("name, content, message", [
    ("bad.fa", ">a\nACGTXACGT\n", r"bad\.fa:2 \[a\]: illegal character 'X' at column 5"),
    ("long.fa", ">a\n" + "A" * 150 + "\n", r"long\.fa:1: sequence of length 150 is longer than length=101"),
    ("dup.fa", ">a\nACGT\n>a\nACGT\n", r"dup\.fa:3 \[a\]: duplicate id 'a'"),
    ("t.csv", "name,seq\nx,ACGT\n", r"t\.csv:1 \[sequence\]: missing column 'sequence'"),
    ("t.tsv", "sequence\tid\nACGT\ta\n\tb\n", r"t\.tsv:3: empty sequence"),
    ("e.seq", "", r"e\.seq: file is empty"),
    ("x.bed", "chr1\t1\t2\n", r"x\.bed: cannot tell the input format"),
])
def test_bad_input_gets_the_readers_error(synthetic_run, tmp_path, name, content, message):
    from genarch.data.errors import DataError
    from genarch.predict import predict_file

    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        predict_file(synthetic_run[0], tmp_path / name)


def test_cli_error_is_one_line_and_exit_2(synthetic_run, tmp_path):
    (tmp_path / "bad.fa").write_text(">a\nACGTXACGT\n")
    proc = predict_cli(synthetic_run[0], tmp_path / "bad.fa", "--out", tmp_path / "never.tsv")
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
    assert "bad.fa:2 [a]: illegal character" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "never.tsv").exists()


def test_bad_npy_and_missing_model(synthetic_run, tmp_path):
    from genarch.data.errors import DataError
    from genarch.predict import predict_file

    np.save(tmp_path / "x.npy", np.zeros((3, 5, 101), np.uint8))
    with pytest.raises(DataError, match=r"x\.npy: expected a one-hot array"):
        predict_file(synthetic_run[0], tmp_path / "x.npy")
    with pytest.raises(FileNotFoundError, match="no trained model"):
        predict_file(tmp_path, tmp_path / "x.npy")
