"""array: the generic array primitives the autograd engine and the basic ops need on a device, where
NumPy gives the CPU ``a + b``, ``a.sum(axis)``, ``a.T`` for free.

The math, once: ``binary(op, a, b, out)`` is ``out = a op b`` with NumPy broadcasting; ``unary(op, a, out,
p, q)`` is ``out = f(a)`` element-wise (with scalar parameters); ``copy_strided(a, out, steps)`` copies
``a`` read with the given steps (broadcast, transpose, dtype cast); ``reduce_sum(a, axes, out, scale)`` is
``out = scale * a.sum(axes, keepdims=True)``. Broadcasting is index arithmetic: for every axis of the
output, the step that moves one position along it in each operand (0 where the operand has size 1).

Files: :mod:`.reference` (NumPy, the oracle), :mod:`.cuda` (one GPU thread per output element).
"""
FUNCTIONS = ("binary", "unary", "copy_strided", "reduce_sum")
IMPLEMENTATIONS = {"reference": "reference", "cuda": "cuda"}
