"""experiments/gue/gue.py: MCC and the (assumed, unconfirmed) GUE -> benchmark-paper task mapping."""

import pytest

from experiments.gue import gue


def test_mcc_matches_sklearn():
    from sklearn.metrics import matthews_corrcoef

    y = [1, 1, 0, 0, 1, 0, 1, 0, 0, 0]
    p = [1, 0, 0, 1, 1, 0, 1, 0, 0, 1]
    assert gue.mcc(y, p) == pytest.approx(matthews_corrcoef(y, p))
    assert gue.mcc([1, 0], [1, 1]) == 0.0            # an empty margin (no negative predicted) -> 0, as sklearn


def test_assumed_mapping_picks_the_published_column():
    assert gue.assumed_published("tf/0")["DNABERT-2"] == 0.8382      # Human TFBS 1
    assert gue.assumed_published("tf/4")["Caduceus-Ph"] == 0.9294    # Human TFBS 5
    assert gue.assumed_published("mouse/2")["GROVER"] == 0.9327      # Mouse TFBS 3
    assert "mouse/1" not in gue.TASKS                                 # not in the shared data


@pytest.mark.parametrize("ours, rho, p", [
    # our AUCs in the published order of difficulty: the identity assignment is the only one with rho = 1
    ({"tf/0": 0.85, "tf/1": 0.84, "tf/2": 0.80, "tf/3": 0.70, "tf/4": 0.95}, 1.0, 1 / 120),
    # one adjacent swap (tf/0 vs tf/1): rho 0.9, matched by the identity and the 4 adjacent swaps
    ({"tf/0": 0.84, "tf/1": 0.85, "tf/2": 0.80, "tf/3": 0.70, "tf/4": 0.95}, 0.9, 5 / 120),
])
def test_rank_check_exact_permutation_p(ours, rho, p):
    c = gue.rank_check(ours, "human")
    assert c["spearman_rho"] == pytest.approx(rho) and c["permutation_p"] == pytest.approx(p)
    assert c["permutations"] == 120


def test_rank_check_needs_three_tasks():
    assert gue.rank_check({"mouse/0": 0.8, "mouse/2": 0.9}, "mouse") is None
