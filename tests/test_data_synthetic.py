"""The embedded default: JASPAR-planted synthetic data, its cache and ground truth; every dataset option."""

import csv
import json
import socket
from pathlib import Path

import numpy as np
import pytest

from genarch.data import load_dataset
from genarch.data.encode import decode
from genarch.jaspar import fetch_motif
from genarch.data.shuffle import dinucleotide_counts
from genarch.data.synthetic import SyntheticILSEP, SyntheticTFBS

CONF = Path(__file__).resolve().parents[1] / "genarch" / "conf"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COMP = str.maketrans("ACGT", "TGCA")


def test_jaspar_works_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from genarch import jaspar

    jaspar.database.cache_clear()
    fetch_motif.cache_clear()
    motif = fetch_motif("MA0139.2")
    assert motif.name == "CTCF" and motif.length == 15 and motif.consensus == "GCCACCAGGGGGCGC"
    assert np.allclose(motif.pfm.sum(axis=1), 1)


@pytest.fixture
def small_tfbs(tmp_path):
    return dict(n=400, seed=3, cache_dir=str(tmp_path))


def test_tfbs_truth_matches_planted_sites(small_tfbs):
    ds = SyntheticTFBS(**small_tfbs)
    b = ds.load()
    assert b.task == "binary" and b.seq_len == 101 and b.target_names == ["bound"]
    assert ds.truth_path.parent == ds.cache_path.parent and ds.truth_path.exists()
    rows = list(csv.DictReader(ds.truth_path.open(), delimiter="\t"))
    seqs = dict(zip(np.concatenate([b.train.ids, b.val.ids, b.test.ids]),
                    decode(np.concatenate([b.train.x, b.val.x, b.test.x]))))
    positives = [r for r in rows if r["label"] == "1"]
    assert len(positives) == 200 and {r["jaspar_id"] for r in positives} == {"MA0139.2"}
    assert {r["strand"] for r in positives} == {"+", "-"}
    for r in positives:
        start, end = int(r["start"]), int(r["end"])
        assert seqs[r["id"]][start:end] == r["site"]
    # negatives: dinucleotide shuffles of their positives
    for i in range(0, 200, 17):
        assert dinucleotide_counts(seqs[f"pos{i:06d}"]) == dinucleotide_counts(seqs[f"neg{i:06d}"])
    # a pair never straddles splits
    for split in (b.train, b.val, b.test):
        ids = set(split.ids)
        assert all(i.replace("pos", "neg") in ids for i in ids if i.startswith("pos"))
    # planted sites look like CTCF: most score well against the consensus
    cons = fetch_motif("MA0139.2").consensus
    matches = [sum(a == c for a, c in zip(r["site"] if r["strand"] == "+" else r["site"].translate(COMP)[::-1], cons))
               for r in positives]
    assert np.mean(matches) > 10


def test_tfbs_cache_hit_and_seed_keying(small_tfbs, monkeypatch):
    first = SyntheticTFBS(**small_tfbs)
    a = first.load()

    def boom(self):
        raise AssertionError("regenerated although cached")

    monkeypatch.setattr(SyntheticTFBS, "_generate", boom)
    second = SyntheticTFBS(**small_tfbs)
    b = second.load()
    assert second.cache_path == first.cache_path and np.array_equal(a.train.x, b.train.x)
    monkeypatch.undo()
    other = SyntheticTFBS(**{**small_tfbs, "seed": 4})
    c = other.load()
    assert other.cache_path != first.cache_path and not np.array_equal(a.train.x, c.train.x)
    pinned = SyntheticTFBS(**{**small_tfbs, "seed": 4, "data_seed": 3})
    pinned.load()
    assert pinned.cache_path == first.cache_path  # data fixed, split seed free


@pytest.mark.parametrize("cls, kwargs", [(SyntheticTFBS, {"motif": "MA0139"}), (SyntheticILSEP, {"n": 60})])
def test_the_cache_key_holds_the_resolved_jaspar_matrices_and_release(cls, kwargs, tmp_path, monkeypatch):
    """A bare JASPAR ID means the latest version: when a newer pyjaspar resolves it (or any planted ID) to
    another matrix or release, the cached data of the old one is not reused."""
    from genarch import jaspar
    from genarch.data import synthetic

    first = cls(seed=0, cache_dir=str(tmp_path), **kwargs)
    first.generated()
    real = jaspar.fetch_motif

    def newer(matrix_id, pseudocount=0.0):
        motif = real(matrix_id, pseudocount)
        return jaspar.Motif(motif.matrix_id + "9", motif.name, motif.pfm, motif.release + "-next")

    monkeypatch.setattr(synthetic, "fetch_motif", newer)
    second = cls(seed=0, cache_dir=str(tmp_path), **kwargs)
    second.generated()
    assert second.cache_path != first.cache_path
    params = json.loads(second.cache_path.with_name(second.cache_path.name.replace(".npz", ".params.json")).read_text())
    assert params["jaspar"]["release"].endswith("-next") and all(m.endswith("9") for m in params["jaspar"]["matrices"])


def test_ilsep_targets_follow_motifs_in_their_windows(tmp_path):
    ds = SyntheticILSEP(n=300, seed=1, cache_dir=str(tmp_path), split={"kind": "kfold", "k": 10, "fold": 0})
    b = ds.load()
    assert b.task == "regression" and b.seq_len == 2000 and b.n_outputs == 11 and len(b.test) == 30
    rows = list(csv.DictReader(ds.truth_path.open(), delimiter="\t"))
    lineages = b.target_names
    active = {(r["id"], r["lineage"]) for r in rows if r["in_window"] == "1" and r["lineage"] != "all"}
    ids = np.concatenate([b.train.ids, b.val.ids, b.test.ids])
    y = np.concatenate([b.train.y, b.val.y, b.test.y])
    on = np.array([[(i, lin) in active for lin in lineages] for i in ids])
    assert on.any(axis=0).all() and (~on).any(axis=0).all()
    gap = y[on].mean() - y[~on].mean()
    assert gap > 0.8  # own driver adds 1.0; the rest is neighbour, shared and noise terms
    seqs = dict(zip(ids, decode(np.concatenate([b.train.x, b.val.x, b.test.x]))))
    scores = []
    for r in rows:
        s, e = int(r["start_rel_tss"]) + 1000, int(r["end_rel_tss"]) + 1000
        site = seqs[r["id"]][s:e]
        assert site == r["site"]
        motif = fetch_motif(r["jaspar_id"])
        oriented = site if r["strand"] == "+" else site.translate(COMP)[::-1]
        scores.append(np.mean([motif.pfm[k, "ACGT".index(c)] for k, c in enumerate(oriented)]))
    assert np.mean(scores) > 0.55  # sampled instances: far above the 0.25 of random sequence


# ---------------------------------------------------------------- every dataset option composes
OPTIONS = sorted(p.stem for p in (CONF / "dataset").glob("*.yaml"))
REAL = {"deepbind_encode", "gue", "aitac", "vaishnav_yeast", "lentimpra", "deepstarr", "dream_yeast", "dream_human"}
EXTRA = {"synthetic_ilsep": ["dataset.n=60"], "deepbind_encode": ["dataset.max_train=300"],
         "gue": ["dataset.task=mouse/3", "dataset.max_train=300"]}


def test_all_required_options_exist():
    assert {"synthetic_tfbs", "synthetic_ilsep", "deepbind_encode", "gue", "table", "fasta", "npy", "vaishnav_yeast",
            "lentimpra", "deepstarr", "aitac"} <= set(OPTIONS)


@pytest.mark.parametrize("option", OPTIONS)
def test_option_composes_and_loads(option, tmp_path, monkeypatch):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    monkeypatch.setenv("GENARCH_CACHE", str(tmp_path))
    monkeypatch.setenv("GENARCH_DATA", str(DATA))
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(overrides=[f"+dataset={option}", "+seed=7", *EXTRA.get(option, [])])
    raw = OmegaConf.to_container(cfg.dataset, resolve=False)
    assert raw["seed"] == "${seed}" and cfg.dataset.seed == 7
    for key in ("val_fraction", "split", "n_value", "revcomp_augment", "max_train"):
        assert key in cfg.dataset, f"{option} lacks {key}"
    if "???" in OmegaConf.to_yaml(cfg.dataset):
        return  # generic options (table, fasta, npy) need the user's files
    if option in REAL and not DATA.is_dir():
        pytest.skip(f"real data not found at {DATA}")
    bundle = load_dataset(cfg.dataset)
    assert len(bundle.train) > 0 and len(bundle.val) > 0 and bundle.train.x.dtype == np.uint8
    assert bundle.info["seed"] == 7
