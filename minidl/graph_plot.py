"""Drawing the autograd graph: ``minidl.viz.plot_graph(tensor)`` shows what ``tensor.backward()`` will walk.

One box per :class:`~minidl.autograd.Function` (its class name and output shape), one box per leaf tensor
(green when it requires a gradient, i.e. a parameter; grey for a constant such as the data), and arrows in
the direction gradients flow: from the output back to every input. After ``backward(retain_graph=True)``
the leaves can show the norm of their gradient. Drawn with matplotlib only (no graphviz): nodes are placed
in layers by their distance from the output.

    >>> w = Tensor(np.ones((3, 2)), requires_grad=True, name="w")
    >>> loss = ((Tensor(x) @ w).relu() ...).sum()        # any computation
    >>> loss.backward(retain_graph=True)
    >>> minidl.viz.plot_graph(loss, "graph.png")
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["plot_graph", "graph_of", "GraphNode"]


@dataclass
class GraphNode:
    """One box of the drawing: ``kind`` is 'function' or 'leaf'."""

    key: int
    kind: str
    label: str
    shape: tuple
    requires_grad: bool = False
    grad_norm: float | None = None
    depth: int = 0
    inputs: list[int] = field(default_factory=list)


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def graph_of(tensor: Any) -> tuple[dict[int, GraphNode], list[tuple[int, int]]]:
    """The graph behind ``tensor``: nodes by key, and edges ``(from, to)`` in the direction gradients flow
    (from a Function to each of its inputs).

    Raises:
        TypeError: when ``tensor`` is not a minidl Tensor.
        ValueError: when ``backward()`` already freed the graph (use ``backward(retain_graph=True)``).
    """
    from .autograd import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"plot_graph expects a minidl Tensor, got {type(tensor).__name__}")
    nodes: dict[int, GraphNode] = {}
    edges: list[tuple[int, int]] = []

    def leaf(t: Tensor, depth: int) -> int:
        key = id(t)
        if key not in nodes:
            norm = float(np.linalg.norm(np.asarray(t.grad, np.float64))) if t.grad is not None else None
            name = t.name or ("parameter" if t.requires_grad else "constant")
            nodes[key] = GraphNode(key, "leaf", name, tuple(t.shape), t.requires_grad, norm, depth)
        nodes[key].depth = max(nodes[key].depth, depth)
        return key

    def function(t: Tensor, depth: int) -> int:
        fn = t._ctx
        key = id(fn)
        if key in nodes:
            nodes[key].depth = max(nodes[key].depth, depth)
            return key
        if not hasattr(fn, "parents") or fn.parents is None:
            raise ValueError("this graph was freed by backward(); call backward(retain_graph=True) to draw it "
                             "after the backward pass")
        nodes[key] = GraphNode(key, "function", type(fn).__name__, tuple(t.shape), True, None, depth)
        return key

    # Breadth-first from the output; a node's depth is its longest distance from the output (layers).
    root = function(tensor, 0) if tensor._ctx is not None else leaf(tensor, 0)
    frontier = [(tensor, root)]
    seen_edges = set()
    while frontier:
        nxt = []
        for t, key in frontier:
            if nodes[key].kind != "function":
                continue
            for p in t._ctx.parents:
                child = function(p, nodes[key].depth + 1) if p._ctx is not None else leaf(p, nodes[key].depth + 1)
                if (key, child) not in seen_edges:
                    seen_edges.add((key, child))
                    edges.append((key, child))
                    nodes[key].inputs.append(child)
                    nxt.append((p, child))
        frontier = nxt
    return nodes, edges


def plot_graph(tensor: Any, path: str | os.PathLike[str] | None = None, show_grad_norms: bool = True):
    """Draws the graph that ``tensor.backward()`` walks; saves it to ``path`` when given.

    Args:
        tensor: the output (usually the loss).
        path: where to save the image (PNG unless the suffix says otherwise).
        show_grad_norms: print ``‖grad‖`` on leaves that have a gradient (after ``backward(retain_graph=True)``).

    Returns:
        The matplotlib Figure; ``fig.minidl_graph`` holds ``(nodes, edges)`` from :func:`graph_of`.
    """
    nodes, edges = graph_of(tensor)
    import matplotlib.pyplot as plt  # lazily: importing minidl.viz must not touch the backend

    layers: dict[int, list[GraphNode]] = {}
    for node in nodes.values():
        layers.setdefault(node.depth, []).append(node)
    width = max(len(v) for v in layers.values())
    fig = plt.figure(figsize=(max(4.0, 2.4 * width), max(2.5, 1.3 * len(layers))))
    ax = fig.add_subplot(1, 1, 1)
    pos = {}
    for depth, layer in layers.items():
        for i, node in enumerate(sorted(layer, key=lambda n: (n.kind, n.label))):
            pos[node.key] = ((i + 0.5) / len(layer), 1.0 - (depth + 0.5) / len(layers))
    for a, b in edges:  # gradients flow from a (output side) to b (input side)
        ax.annotate("", xy=pos[b], xytext=pos[a], xycoords="axes fraction",
                    arrowprops=dict(arrowstyle="-|>", color="0.35", shrinkA=16, shrinkB=26), zorder=3)
    for node in nodes.values():
        text = f"{node.label}\n{_shape_text(node.shape)}"
        if node.kind == "leaf":
            color = "#cdeccd" if node.requires_grad else "#e6e6e6"
            text += "\nrequires_grad" if node.requires_grad else "\nno grad"
            if show_grad_norms and node.grad_norm is not None:
                text += f"\n|grad| = {node.grad_norm:.3g}"
        else:
            color = "#cfe0f5"
        ax.text(*pos[node.key], text, transform=ax.transAxes, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.4", facecolor=color, edgecolor="0.3"))
    ax.set_axis_off()
    ax.set_title("autograd graph (arrows: direction of the gradient)", fontsize=9)
    fig.minidl_graph = (nodes, edges)
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig
