"""minidl.viz.plot_graph draws the graph backward() walks: the right boxes and arrows, and a real PNG."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import minidl
from minidl import Tensor, ops
from minidl.graph_plot import graph_of


def _loss():
    x = Tensor(np.arange(6.0).reshape(2, 3), name="x")
    w = Tensor(np.ones((3, 2)) * 0.1, requires_grad=True, name="w")
    b = Tensor(np.zeros(2), requires_grad=True, name="b")
    h = ops.matmul(x, w) + b
    return ops.sum(ops.square(h)), x, w, b


def test_nodes_and_edges_follow_the_gradient():
    loss, x, w, b = _loss()
    nodes, edges = graph_of(loss)
    by_label = {n.label: n for n in nodes.values()}
    # square is a Pow by the constant 2 (a leaf that needs no gradient)
    assert sorted(by_label) == ["Add", "MatMul", "Pow", "Sum", "b", "constant", "w", "x"]
    named = {n.key: n.label for n in nodes.values()}
    assert sorted((named[a], named[b_]) for a, b_ in edges if named[b_] != "constant") == sorted([
        ("Sum", "Pow"), ("Pow", "Add"), ("Add", "MatMul"), ("Add", "b"), ("MatMul", "x"), ("MatMul", "w")])
    assert by_label["Sum"].shape == () and by_label["MatMul"].shape == (2, 2)
    assert by_label["w"].requires_grad and not by_label["x"].requires_grad
    assert by_label["Sum"].depth == 0 and by_label["x"].depth == 4


def test_plot_writes_a_png_with_gradient_norms(tmp_path):
    matplotlib.use("Agg")
    loss, x, w, b = _loss()
    loss.backward(retain_graph=True)
    path = tmp_path / "graph.png"
    fig = minidl.viz.plot_graph(loss, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = [t.get_text() for t in fig.axes[0].texts]
    norm_w = float(np.linalg.norm(w.grad))
    assert any(f"|grad| = {norm_w:.3g}" in t and t.startswith("w") for t in texts)
    assert sum("requires_grad" in t for t in texts) == 2 and sum("no grad" in t for t in texts) >= 1
    nodes, edges = fig.minidl_graph
    assert len(fig.axes[0].texts) == len(nodes) + len(edges) and len(edges) == 7  # boxes, then arrows


def test_a_freed_graph_and_a_non_tensor_are_clear_errors():
    loss, *_ = _loss()
    loss.backward()
    with pytest.raises(ValueError, match="retain_graph=True"):
        graph_of(loss)
    with pytest.raises(TypeError, match="minidl Tensor"):
        graph_of(np.ones(3))
