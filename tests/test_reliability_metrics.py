"""Metric and clustering-score arguments (issue #18): clear errors naming the argument, never silent nonsense."""
from __future__ import annotations

import numpy as np
import pytest

from minidl import cluster_metrics as cm
from minidl.metrics import classification_report, confusion_matrix

Y, P = [0, 1, 2, 1], [0, 2, 2, 1]


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(digits=-1), ValueError, r"digits must be a non-negative integer, got -1"),
    (dict(digits=2.5), TypeError, r"digits must be an integer, got 2.5"),
    (dict(digits="2"), TypeError, r"digits must be an integer, got '2'"),
    (dict(digits=True), TypeError, r"digits must be an integer"),
    (dict(target_names="abc"), TypeError, r"target_names must be a list of class names, got 'abc'"),
    (dict(target_names=3), TypeError, r"target_names must be a list"),
    (dict(target_names=[]), ValueError, r"target_names must name at least one class"),
    (dict(target_names=["a", "b"]), ValueError, r"target_names has 2 names but the labels go up to 2"),
    (dict(num_classes=0), ValueError, r"num_classes must be a positive integer, got 0"),
    (dict(num_classes="3"), TypeError, r"num_classes must be an integer or None, got '3'"),
    (dict(num_classes=2.0), TypeError, r"num_classes must be an integer"),
    (dict(target_names=["a", "b", "c"], num_classes=4), ValueError, r"num_classes=4 disagrees with the 3"),
])
def test_classification_report_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        classification_report(Y, P, **kwargs)


def test_classification_report_accepts_numpy_scalars_and_digits_zero():
    a = classification_report(Y, P, digits=np.int64(3), num_classes=np.int32(3))
    b = classification_report(Y, P, digits=3, num_classes=3)
    assert a == b and "0.667" in a
    zero = classification_report(Y, P, digits=0)
    assert "0.5" not in zero and "accuracy" in zero
    named = classification_report(Y, P, target_names=np.array(["x", "y", "z"]))
    assert named.splitlines()[2].split()[0] == "x"


@pytest.mark.parametrize("y, match", [
    ([0.2, 1.7], r"y_true: holds non-integer values outside \[0, 1\]"),
    ([[1, 2], [1]], r"y_true must be an array of labels or scores"),
    (["a", "b"], r"y_true: labels must be integers"),
    ([-1, 0], r"y_true: labels must be >= 0"),
    ([np.nan, 0], r"y_true: contains non-finite"),
    ([1 + 0j, 0], r"y_true: labels must be integers"),
])
def test_confusion_matrix_label_errors(y, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(y, [0, 1])


@pytest.mark.parametrize("fn", [cm.adjusted_rand_score, cm.normalized_mutual_info_score, cm.contingency_matrix])
@pytest.mark.parametrize("a, b, match", [
    ([1, 2], [[1], [2]], r"labels_pred must be 1-D \(one label per sample\), got an array of shape \(2, 1\)"),
    (3, [1], r"labels_true must be 1-D"),
    ([np.nan, 1.0], [1, 2], r"labels_true contains NaN or infinity"),
    ([1.0, np.inf], [1, 2], r"labels_true contains NaN or infinity"),
    ([[1, 2], [1]], [1, 2], r"labels_true must be a 1-D sequence of labels"),
    ([1 + 1j, 2], [1, 2], r"labels_true must hold integer, float or string labels, got dtype complex128"),
    ([None, 1], [1, 2], r"labels_true must hold labels of one kind"),
    ([1, 2, 3], [1, 2], r"labels_true and labels_pred have different lengths: 3 != 2"),
    ([], [], r"labels_true and labels_pred are empty"),
])
def test_cluster_metric_label_errors(fn, a, b, match):
    with pytest.raises(ValueError, match=match):
        fn(a, b)


def test_cluster_accuracy_names_its_own_arguments_and_accepts_strings():
    with pytest.raises(ValueError, match=r"y_pred must be 1-D"):
        cm.cluster_accuracy([0, 1], [[0], [1]])
    assert cm.cluster_accuracy(["a", "b", "a"], [1, 0, 1]) == 1.0
    assert cm.adjusted_rand_score(np.array(["x", "y", "x"], dtype=object), [5, 6, 5]) == 1.0
