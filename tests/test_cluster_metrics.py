"""Clustering metric tests: invariances, textbook values, and sklearn agreement when installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.cluster_metrics import adjusted_rand_score, cluster_accuracy, normalized_mutual_info_score

labels = st.lists(st.integers(0, 4), min_size=1, max_size=40)


@given(y=labels, seed=st.integers(0, 1000))
def test_permuted_labels_score_one(y, seed):
    y = np.array(y)
    perm = np.random.default_rng(seed).permutation(10)
    z = perm[y] + 100  # renamed clusters
    assert cluster_accuracy(y, z) == 1.0
    assert normalized_mutual_info_score(y, z) == pytest.approx(1.0)
    assert adjusted_rand_score(y, z) == pytest.approx(1.0)


def test_textbook_values():
    # accuracy: clusters {0:[a,a,b], 1:[b,b,c]} -> best matching 0->a, 1->b: 4 of 6
    assert cluster_accuracy(list("aabbbc"), [0, 0, 0, 1, 1, 1]) == pytest.approx(4 / 6)
    # more clusters than classes: only 2 clusters can be matched
    assert cluster_accuracy([0, 0, 1, 1], [0, 1, 2, 3]) == pytest.approx(0.5)
    # ARI of [0,0,1,1] vs [0,0,1,2]: index=1, sums 2 and 1, C(4,2)=6 -> expected 1/3, max 3/2 -> (2/3)/(7/6)=4/7
    assert adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    # NMI of the same pair: I = log 2, H(T) = log 2, H(P) = 1.5 log 2 -> 1 / 1.25 = 0.8
    assert normalized_mutual_info_score([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(0.8)
    # independent labelings
    assert normalized_mutual_info_score([0, 0, 1, 1], [0, 1, 0, 1]) == 0.0
    assert adjusted_rand_score([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    # trivial labelings
    assert normalized_mutual_info_score([1, 1, 1], [2, 2, 2]) == 1.0
    assert adjusted_rand_score([1, 1, 1], [2, 2, 2]) == 1.0
    assert adjusted_rand_score([0], [5]) == 1.0


@given(a=labels, data=st.data())
def test_match_sklearn(a, data):
    m = pytest.importorskip("sklearn.metrics")
    b = data.draw(st.lists(st.integers(0, 5), min_size=len(a), max_size=len(a)))
    assert normalized_mutual_info_score(a, b) == pytest.approx(m.normalized_mutual_info_score(a, b), abs=1e-12)
    assert adjusted_rand_score(a, b) == pytest.approx(m.adjusted_rand_score(a, b), abs=1e-12)
    assert 0.0 <= cluster_accuracy(a, b) <= 1.0


@pytest.mark.parametrize("f", [cluster_accuracy, normalized_mutual_info_score, adjusted_rand_score])
def test_errors(f):
    with pytest.raises(ValueError, match="lengths"):
        f([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        f([], [])
    with pytest.raises(ValueError, match="1-D"):
        f([[0, 1]], [[0, 1]])
