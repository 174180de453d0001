"""minidl.ops under Keras 3's keras.ops names: values equal NumPy's, gradients pass gradcheck; and the
autograd traps: truth values, membership, per-thread grad mode, no builtin shadowed in module code."""
from __future__ import annotations

import ast
import builtins
import pathlib
import threading

import numpy as np
import pytest

import minidl
from minidl import Tensor, ops
from minidl.testing import gradcheck

rng = np.random.default_rng(0)
A = rng.uniform(0.5, 2.0, (3, 4))          # positive and away from kinks (log, sqrt, abs)
B = rng.uniform(-2.0, -0.5, (3, 4))        # distinct from A everywhere (maximum / minimum)
C = rng.standard_normal((4, 2))

UNARY = {  # name: (minidl, numpy)
    "square": (ops.square, np.square),
    "sqrt": (ops.sqrt, np.sqrt),
    "exp": (ops.exp, np.exp),
    "log": (ops.log, np.log),
    "abs": (ops.abs, np.abs),
    "absolute": (ops.absolute, np.abs),
    "negative": (ops.negative, np.negative),
    "clip": (lambda x: ops.clip(x, 0.8, 1.6), lambda x: np.clip(x, 0.8, 1.6)),
    "sum": (lambda x: ops.sum(x, axis=1), lambda x: np.sum(x, axis=1)),
    "mean": (lambda x: ops.mean(x, axis=0, keepdims=True), lambda x: np.mean(x, axis=0, keepdims=True)),
    "max": (lambda x: ops.max(x, axis=1), lambda x: np.max(x, axis=1)),
    "min": (lambda x: ops.min(x), lambda x: np.min(x)),
    "transpose": (ops.transpose, np.transpose),
    "reshape": (lambda x: ops.reshape(x, (2, 6)), lambda x: np.reshape(x, (2, 6))),
    "expand_dims": (lambda x: ops.expand_dims(x, -1), lambda x: np.expand_dims(x, -1)),
    "squeeze": (lambda x: ops.squeeze(ops.expand_dims(x, 0), 0), lambda x: x),
    "power": (lambda x: ops.power(x, 3.0), lambda x: x ** 3.0),
    "pow": (lambda x: ops.pow(x, 0.5), lambda x: x ** 0.5),
}

BINARY = {
    "add": (ops.add, np.add), "subtract": (ops.subtract, np.subtract), "multiply": (ops.multiply, np.multiply),
    "divide": (ops.divide, np.divide), "maximum": (ops.maximum, np.maximum),
    "minimum": (ops.minimum, np.minimum), "power": (ops.power, np.power),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_names_match_numpy_and_pass_gradcheck(name):
    fn, ref = UNARY[name]
    np.testing.assert_allclose(fn(Tensor(A, dtype="float64")).data, ref(A), rtol=1e-12)
    assert gradcheck(fn, A)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_names_match_numpy_and_pass_gradcheck(name):
    fn, ref = BINARY[name]
    a, b = (A, np.abs(B)) if name == "power" else (A, B)
    np.testing.assert_allclose(fn(Tensor(a, dtype="float64"), Tensor(b, dtype="float64")).data, ref(a, b),
                               rtol=1e-12)
    assert gradcheck(fn, a, b)


def test_matmul_concatenate_stack_where_pass_gradcheck():
    assert gradcheck(ops.matmul, A, C)
    assert gradcheck(lambda x, y: ops.concatenate([x, y], axis=1), A, B)
    assert gradcheck(lambda x, y: ops.stack([x, y], axis=2), A, B)
    assert gradcheck(lambda x, y: ops.where(A > 1.2, x, y), A, B)


def test_squeeze_and_expand_dims_errors_name_the_axis():
    with pytest.raises(ValueError, match="axis 1 of shape"):
        ops.squeeze(Tensor(A), 1)
    with pytest.raises(ValueError, match="expand_dims: axis 5"):
        ops.expand_dims(Tensor(A), 5)


def test_a_custom_layer_written_with_keras_ops_names_trains():
    """What a Keras custom layer's call does: square, sum, sqrt, expand_dims on its input."""
    x = Tensor(A, requires_grad=True)
    norm = ops.sqrt(ops.sum(ops.square(x), axis=-1))
    y = ops.divide(x, ops.expand_dims(norm, -1))
    ops.mean(y).backward()
    assert x.grad.shape == A.shape and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(np.linalg.norm(y.data, axis=-1), 1.0, rtol=1e-6)


# ------------------------------------------------------------------ truth values and membership
def test_bool_of_a_multi_element_tensor_raises():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([0.0, 0.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        if Tensor([1.0, 2.0]) == Tensor([1.0, 2.0]):
            pass
    assert bool(Tensor([0.0])) is False and bool(Tensor(3.0)) is True
    assert (Tensor([1.0, 2.0]) == Tensor([1.0, 2.0])).all() and not (Tensor([1.0]) > 2).any()


def test_membership_is_never_true_for_unrelated_tensors():
    a, b, t = Tensor([1.0, 2.0]), Tensor([3.0, 4.0]), Tensor([5.0, 6.0])
    assert a in [a, b]  # identity comes first, as for any Python object
    with pytest.raises(ValueError, match="ambiguous"):
        t in [a, b]  # noqa: B015 - NumPy and PyTorch raise here too
    assert {a: 1, b: 2}[b] == 2  # hashing stays by identity


# ------------------------------------------------------------------ grad mode per thread
def test_grad_mode_is_per_thread_and_overlapping_no_grad_blocks_restore_it():
    inside = [threading.Event(), threading.Event()]
    release = threading.Event()
    seen = {}

    def worker(i):
        with minidl.no_grad():
            inside[i].set()
            release.wait(5)
            seen[i] = minidl.is_grad_enabled()
        seen[f"after{i}"] = minidl.is_grad_enabled()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for ev in inside:
        assert ev.wait(5)
    # Both threads are inside overlapping no_grad blocks: this thread still records a graph.
    assert minidl.is_grad_enabled()
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert (x * 2).requires_grad
    release.set()
    for th in threads:
        th.join(5)
    assert seen == {0: False, 1: False, "after0": True, "after1": True}
    assert minidl.is_grad_enabled()


def test_no_grad_in_the_calling_thread_still_works():
    x = Tensor([1.0], requires_grad=True)
    with minidl.no_grad():
        assert not minidl.is_grad_enabled() and not (x * 2).requires_grad
        with minidl.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad


# ------------------------------------------------------------------ no shadowed builtins
def test_no_module_code_shadows_a_builtin():
    """Only the namespace module minidl/ops/__init__.py binds Keras's sum/max/min/abs/pow (as keras.ops
    and numpy do); every module that defines code uses its own names."""
    root = pathlib.Path(minidl.__file__).parent
    kernels = pathlib.Path(minidl.kernels.__file__).parent
    names = set(dir(builtins))
    found = []
    for path in sorted(root.rglob("*.py")) + sorted(kernels.rglob("*.py")):
        if path == root / "ops" / "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            bound = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [
                e.id for t in getattr(node, "targets", []) for e in ast.walk(t) if isinstance(e, ast.Name)]
            found += [f"{path.name}:{node.lineno} {n}" for n in bound if n in names and not n.startswith("__")]
    assert found == []
