"""The backward pass: order the graph topologically, then apply the chain rule once per Function.

:meth:`minidl.Tensor.backward` calls :func:`run_backward`. :func:`_toposort` orders the functions reachable
from the output so that each comes after everything that consumed its output (an explicit stack: 10,000-op
chains do not hit Python's recursion limit); the walk then calls each ``backward`` and adds up the gradients
of a value used more than once (the multivariate chain rule). Leaves (parameters) keep their gradient in
``.grad``; intermediate gradients live only during the walk, as in PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import kernel_table
from .autograd import Function, Tensor, _ops

__all__ = ["run_backward"]

_is_device_array = kernel_table.is_device_array


def _device_add(a: Any, b: Any) -> Any:
    """a + b for device arrays of one shape, into a new array (out of place: either may be shared)."""
    B = kernel_table.of(a)
    if b.dtype != a.dtype:
        b = _ops().arrays.of(b).astype(b, a.dtype)
    out = B.empty(a.shape, dtype=a.dtype)
    B.binary("add", a, b, out)
    return out



def _accumulate_leaf(t: Tensor, g: np.ndarray) -> None:
    if type(g) is not np.ndarray and _is_device_array(g):
        _accumulate_leaf_device(t, g)
        return
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if not g.flags.c_contiguous:  # e.g. a broadcast view from sum(): kernels and optimizers want real arrays
        g = np.ascontiguousarray(g)
    if t.grad is None:
        t.grad = g
    else:
        # Out of place: `g` may be the very array another input also received (e.g. from add).
        t.grad = t.grad + g


def _accumulate_leaf_device(t: Tensor, g: Any) -> None:
    """The device version of :func:`_accumulate_leaf` (device arrays here are always contiguous)."""
    if not _is_device_array(t.data):  # a host scalar used with device tensors: its gradient comes home
        g = g.copy_to_host()
        _accumulate_leaf(t, g.reshape(t.data.shape))
        return
    if g.dtype != t.data.dtype:
        g = _ops().arrays.of(g).astype(g, t.data.dtype)
    t.grad = g if t.grad is None else _device_add(t.grad, g)


def _zeros(shape: tuple, dtype: Any, zeros: Any) -> Any:
    return zeros(shape, dtype=dtype)


def _toposort(root: Function) -> list[Function]:
    """Functions reachable from ``root``, each before the functions that produced its inputs."""
    order: list[Function] = []
    visited: set[int] = set()
    stack: list[tuple[Function, bool]] = [(root, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:  # all of fn's producers are already in `order`: post-order
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        parents = getattr(fn, "parents", None)
        if parents is None:
            raise RuntimeError(
                "backward() through a graph that was already freed: call backward(retain_graph=True) "
                "the first time to go through the same graph twice"
            )
        for p in parents:
            c = p._ctx
            if c is not None and p.requires_grad and id(c) not in visited:
                stack.append((c, False))
    order.reverse()
    return order


def run_backward(root_tensor: Tensor, grad: Any, retain_graph: bool) -> None:
    """Walks the graph behind ``root_tensor`` once, in topological order, seeding it with ``grad``: each
    Function's ``backward`` gets the sum of the gradients of its outputs, and leaves accumulate theirs in
    ``.grad``. Frees the graph unless ``retain_graph``."""
    if root_tensor._ctx is None:  # a leaf: nothing to walk
        _accumulate_leaf(root_tensor, grad)
        return
    root = root_tensor._ctx
    order = _toposort(root)
    pending: dict[int, list] = {id(root): [None] * root.n_outputs}
    pending[id(root)][root_tensor._idx] = grad
    for fn in order:
        outs = pending.pop(id(fn), None)
        if outs is None:  # reachable only through tensors that got no gradient
            continue
        if fn.n_outputs == 1:
            grads = fn.backward(outs[0])
        else:
            outs = [_zeros(*fn.out_meta[i]) if g is None else g for i, g in enumerate(outs)]
            grads = fn.backward(tuple(outs))
        if not isinstance(grads, tuple):
            grads = (grads,)
        for p, g in zip(fn.parents, grads):
            if g is None or not p.requires_grad:
                continue
            c = p._ctx
            if c is None:
                _accumulate_leaf(p, g)
            else:
                slot = pending.get(id(c))
                if slot is None:
                    slot = pending[id(c)] = [None] * c.n_outputs
                prev = slot[p._idx]
                if prev is None:
                    slot[p._idx] = g
                elif type(prev) is np.ndarray or not _is_device_array(prev):
                    slot[p._idx] = prev + g
                else:
                    slot[p._idx] = _device_add(prev, g)
        if not retain_graph:
            fn.parents = None
            fn.__dict__.clear()

