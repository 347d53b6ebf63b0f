"""Motif read-out, alignment, BH q-values, TF name matching and TOMTOM on known JASPAR matrices."""

import numpy as np
import pytest

from genarch.interpret.numba_cache import ensure_numba_cache_dir

ensure_numba_cache_dir()

from genarch.interpret.alignment import align_windows, seed_counts  # noqa: E402
from genarch.jaspar import load_core  # noqa: E402
from genarch.interpret.motifs import (extract_windows, pfm_from_windows, reverse_complement, select_top,  # noqa: E402
                                      top_kmers, window_starts, window_strings)
from genarch.interpret.tfnames import components, match_level, normalise, tf_from_experiment  # noqa: E402
from genarch.interpret.tomtom import best_matches, bh_qvalues, run_tomtom  # noqa: E402


def onehot(strings):
    idx = np.array([["ACGT".index(c) for c in s] for s in strings])
    return np.eye(4, dtype=np.uint8)[idx].transpose(0, 2, 1).copy()


@pytest.mark.parametrize("peak,k,length,start", [(50, 10, 101, 45), (2, 10, 101, 0), (99, 10, 101, 91),
                                                 (5, 11, 20, 0), (10, 11, 20, 5), (0, 1, 5, 0)])
def test_window_starts_centre_and_clip(peak, k, length, start):
    assert window_starts(np.array([peak]), k, length)[0] == start


def test_windows_pfm_and_strings():
    x = onehot(["AACGTTGCAA", "ACGTACGTAC"])
    w = extract_windows(x, np.array([5, 5]), 4)
    assert window_strings(w) == ["GTTG", "TACG"]
    pfm = pfm_from_windows(w)
    assert pfm.counts.sum() == 8 and pfm.n_sites == 2
    np.testing.assert_allclose(pfm.pfm.sum(axis=1), 1)
    assert pfm.consensus[0] == "G" or pfm.consensus[0] == "T"


def test_n_bases_do_not_count():
    x = onehot(["ACGT"]).astype(np.uint8)
    x[0, :, 1] = 1  # an N written as all-one
    pfm = pfm_from_windows(extract_windows(x, np.array([2]), 4))
    assert pfm.counts.sum() == 3
    assert window_strings(extract_windows(x, np.array([2]), 4)) == ["ANGT"]


def test_top_kmers_merge_strands_and_count_once_per_window():
    site = "GATTACA"
    strings = ["CC" + site + "G", "T" + reverse_complement(site) + "TT", site + site[:3], "GGGGGGGGGG"]
    (kmer, count), *_ = top_kmers(strings, 7, 3)
    assert kmer in (site, reverse_complement(site)) and count == 3
    assert top_kmers(["AAAAAAAA"], 3, 1) == [("AAA", 1)]


def test_select_top_is_stable_and_restricted_to_candidates():
    ranking = np.array([0.1, 0.9, 0.9, 0.5, 0.99])
    assert select_top(ranking, np.array([0, 1, 2, 3]), 3).tolist() == [1, 2, 3]


def test_alignment_recovers_a_motif_planted_on_both_strands():
    rng = np.random.default_rng(0)
    motif = "GGATTACACT"  # not its own reverse complement
    seqs, peaks = [], []
    for i in range(60):
        s = list("".join(rng.choice(list("ACGT"), 40)))
        site = motif if i % 2 else reverse_complement(motif)
        at = int(rng.integers(8, 22))
        s[at:at + 10] = site
        seqs.append("".join(s))
        peaks.append(at + 5 + int(rng.integers(-3, 4)))  # peaks a few bases off the centre
    x = onehot(seqs)
    naive = pfm_from_windows(extract_windows(x, np.array(peaks), 10))
    seed = top_kmers(window_strings(extract_windows(x, np.array(peaks), 16)), 8, 1)[0][0]
    aligned = align_windows(x, np.array(peaks), 10, seed_counts(seed, 10), margin=5)
    consensus = "".join("ACGT"[i] for i in aligned.counts.argmax(axis=1))
    assert consensus in (motif, reverse_complement(motif))
    assert (aligned.counts.max(axis=1) / aligned.counts.sum(axis=1)).min() > 0.9
    assert (naive.pfm.max(axis=1)).mean() < 0.8  # the unaligned windows are blurred
    strands = aligned.strands == aligned.strands[1]
    assert strands[1::2].all() and not strands[0::2].any()  # orientation follows the planted strand


def test_bh_qvalues_match_scipy():
    from scipy.stats import false_discovery_control

    p = np.random.default_rng(1).random((7, 13)) ** 3
    np.testing.assert_allclose(bh_qvalues(p), false_discovery_control(p.ravel()).reshape(p.shape))
    assert bh_qvalues(np.array([0.01, 0.02, 0.03])).tolist() == pytest.approx([0.03, 0.03, 0.03])
    # edge cases the library call needs help with: empty, a hair above 1, NaN (left out of the count)
    assert bh_qvalues(np.zeros((0, 3))).shape == (0, 3)
    assert bh_qvalues(np.array([1.0 + 1e-12, 0.5])).tolist() == pytest.approx([1.0, 1.0])
    q = bh_qvalues(np.array([0.01, np.nan, 0.02]))
    assert np.isnan(q[1]) and q[[0, 2]].tolist() == pytest.approx([0.02, 0.02])


@pytest.mark.parametrize("a,b", [("c-Myc", "MYC"), ("USF-1", "USF1"), ("NRSF", "REST"), ("GABP", "GABPA"),
                                 ("ZNF384(var.2)", "ZNF384"), ("Pol2", "POLR2A"), ("ctcf", "CTCF")])
def test_normalise(a, b):
    assert normalise(a) == b


def test_components_and_experiment_names():
    assert components("FOS::JUN") == {"FOS", "JUN"}
    assert tf_from_experiment("USF1_HepG2_USF-1_HudsonAlpha") == "USF1"


@pytest.mark.parametrize("tf,matrix_name,level", [
    ("CTCF", "CTCF", "tf"), ("ctcf", "CTCF", "tf"), ("JUN", "FOS::JUN", "tf"), ("FOS::JUN", "JUN", "tf"),
    ("CTCF", "CTCFL", "family"), ("ELK1", "ELK4", "family"), ("CTCF", "GATA4", "none"), (None, "CTCF", "none"),
])
def test_match_level(tf, matrix_name, level):
    db = load_core("JASPAR2024", "vertebrates")
    motif = next(m for m in db if m.name == matrix_name)
    assert match_level(tf, motif, db) == level


@pytest.fixture(scope="module")
def core():
    return list(load_core("JASPAR2024", "vertebrates"))


def test_tomtom_finds_known_matrices_with_strand_and_offset(core):
    by_id = {m.matrix_id: m for m in core}
    ctcf, gata = by_id["MA0139.2"].pfm.T, by_id["MA0037.5"].pfm.T
    queries = [ctcf[3:13], ctcf[::-1, ::-1][2:12], gata]
    result = run_tomtom(queries, core)
    assert result.p.shape == (3, len(core)) and (result.q >= result.p - 1e-12).all()
    matches = best_matches(result, ["ctcf_fwd", "ctcf_rc", "gata"], core, tf="CTCF")
    assert [m.target_id for m in matches] == ["MA0139.2", "MA0139.2", "MA0037.5"]
    assert [m.strand for m in matches] == ["+", "-", "+"]
    assert [m.offset for m in matches[:2]] == [3, 2]
    assert matches[0].q_value < 1e-5 and matches[0].level == "tf" and matches[2].level == "none"


def test_jaspar_release_is_selectable_and_checked():
    assert len(load_core("JASPAR2022", "vertebrates")) != len(load_core("JASPAR2024", "vertebrates"))
    with pytest.raises(ValueError, match="unknown JASPAR release"):
        load_core("JASPAR1999")


@pytest.mark.parametrize("window", [1, 3, 4, 9])
def test_attention_peak_windows_are_whole_and_inside_the_track(window):
    """The peak is the centre of the whole window (inside the 4-position track) with the largest summed
    attention, as for every other attribution; a window longer than the track falls back to the maximum.
    Before, zero-padded edge windows moved the peak inwards and a 9-wide window pointed past the track."""
    from genarch.interpret.attribution import AttentionAttribution
    from genarch.interpret.positions import PositionMap

    pmap = PositionMap(start=12.0, jump=25.0, field=25.0, input_length=100, feature_length=4)
    raw = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
    peaks = AttentionAttribution(peak_window=window).peaks_of(None, raw, pmap)
    expected = {1: [12, 87], 3: [37, 62], 4: [62, 62], 9: [12, 87]}[window]
    assert list(peaks) == expected


@pytest.mark.parametrize("tf, target, expected", [
    ("ELK1", "ELK1", "tf"),
    ("ELK1", "ELK4", "family"),      # both Ets-related
    ("ELK1", "FOXA1", "none"),       # FOXO1::ELK1 is not ELK1's own matrix: its FOX family is the partner's
    ("ELK1", "USF1", "none"),
    ("FOXA1", "ELK1", "none"),       # and the relation is symmetric again
    ("GATA1", "NHLH1", "none"),
    ("MYC", "MAX::MYC", "tf"),
])
def test_a_family_match_needs_the_chipped_tfs_own_family(tf, target, expected):
    core = list(load_core())
    by_name = {}
    for m in core:
        by_name.setdefault(m.name.upper(), m)
    assert match_level(tf, by_name[target.upper()], core) == expected
