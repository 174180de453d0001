"""Every basic op: forward equals NumPy, backward passes gradcheck over hypothesis shapes (with broadcasting)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minidl
from minidl import Tensor, ops
from minidl.testing import GradcheckError, gradcheck
from minidl.testing.strategies import array_for, broadcast_shapes, shapes

seeds = st.integers(0, 2**31 - 1)

BINARY = {
    "add": (lambda a, b: a + b, np.add, False),
    "sub": (lambda a, b: a - b, np.subtract, False),
    "mul": (lambda a, b: a * b, np.multiply, False),
    "div": (lambda a, b: a / b, np.divide, False),
    "pow": (lambda a, b: a ** b, np.power, True),  # positive base: log(a) in the exponent's gradient
    "maximum": (ops.maximum, np.maximum, False),
    "minimum": (ops.minimum, np.minimum, False),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcast_shapes(), seed=seeds)
def test_binary_forward_and_gradcheck(name, pair, seed):
    fn, ref, positive = BINARY[name]
    a = array_for(pair[0], seed, positive=positive)
    b = array_for(pair[1], seed + 1, positive=positive, low=0.25, high=1.9)  # never equal to a's values
    out = fn(Tensor(a), Tensor(b))
    np.testing.assert_allclose(out.data, ref(a, b), rtol=1e-12)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    assert gradcheck(fn, a, b)


UNARY = {
    "neg": (lambda a: -a, np.negative, False),
    "exp": (ops.exp, np.exp, False),
    "log": (ops.log, np.log, True),
    "sqrt": (ops.sqrt, np.sqrt, True),
    "abs": (ops.abs, np.abs, False),
    "clip": (lambda a: ops.clip(a, -1.0, 1.5), lambda a: np.clip(a, -1.0, 1.5), False),
    "square": (lambda a: a ** 2, np.square, False),
    "rsub": (lambda a: 3.0 - a, lambda a: 3.0 - a, False),
    "rdiv": (lambda a: 2.0 / a, lambda a: 2.0 / a, False),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(), seed=seeds)
def test_unary_forward_and_gradcheck(name, shape, seed):
    fn, ref, positive = UNARY[name]
    a = array_for(shape, seed, positive=positive)
    if name == "clip":  # keep values away from the clip points, where the derivative jumps
        a = np.where(np.abs(a - 1.5) < 0.05, a + 0.1, a)
        a = np.where(np.abs(a + 1.0) < 0.05, a + 0.1, a)
    np.testing.assert_allclose(fn(Tensor(a)).data, ref(a), rtol=1e-12)
    assert gradcheck(fn, a)


REDUCTIONS = {
    "sum": (ops.sum, np.sum),
    "mean": (ops.mean, np.mean),
    "max": (ops.max, np.max),
    "min": (ops.min, np.min),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(shape=shapes(1, 3), seed=seeds, data=st.data())
def test_reductions(name, shape, seed, data):
    fn, ref = REDUCTIONS[name]
    a = array_for(shape, seed)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                               st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)))
    keepdims = data.draw(st.booleans())
    out = fn(Tensor(a), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, ref(a, axis=axis, keepdims=keepdims), rtol=1e-12)
    assert gradcheck(lambda t: fn(t, axis=axis, keepdims=keepdims), a)


@given(seed=seeds, dims=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
       batch=st.sampled_from([(), (2,), (3, 1)]))
def test_matmul(seed, dims, batch):
    m, k, n = dims
    a = array_for(batch + (m, k), seed)
    b = array_for((k, n), seed + 1)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b, rtol=1e-12)
    assert gradcheck(lambda x, y: x @ y, a, b)


def test_matmul_vectors():
    a, b, m = array_for((3,), 1), array_for((3,), 2), array_for((3, 2), 3)
    assert gradcheck(lambda x, y: x @ y, a, b)
    assert gradcheck(lambda x, y: x @ y, a, m)
    assert gradcheck(lambda x, y: x @ y, m.T, a)


@given(shape=shapes(1, 3, 2, 4), seed=seeds)
def test_reshape_transpose(shape, seed):
    a = array_for(shape, seed)
    np.testing.assert_array_equal(Tensor(a).reshape(-1).data, a.reshape(-1))
    np.testing.assert_array_equal(Tensor(a).T.data, a.T)
    axes = tuple(reversed(range(len(shape))))[1:] + (len(shape) - 1,)
    axes = tuple(np.random.default_rng(seed).permutation(len(shape)))
    np.testing.assert_array_equal(Tensor(a).transpose(axes).data, a.transpose(axes))
    assert gradcheck(lambda t: t.reshape(-1) * Tensor(np.arange(a.size, dtype=float)), a)
    assert gradcheck(lambda t: t.transpose(axes), a)
    assert gradcheck(lambda t: t.T, a)


@pytest.mark.parametrize("index", [
    0, -1, slice(1, 3), (slice(None), 1), (Ellipsis, 0), (None, 1),
    np.array([0, 2, 0]),  # a repeated index receives both gradients
    (np.array([0, 1]), np.array([1, 1])),
    np.array([True, False, True, True]),
])
def test_getitem(index):
    a = array_for((4, 3), 7)
    np.testing.assert_array_equal(Tensor(a)[index].data, a[index])
    assert gradcheck(lambda t: t[index], a)


def test_getitem_repeated_index_accumulates():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


@given(seed=seeds, axis=st.integers(0, 1))
def test_concatenate_stack(seed, axis):
    a, b = array_for((2, 3), seed), array_for((2, 3), seed + 1)
    np.testing.assert_array_equal(ops.concatenate([Tensor(a), Tensor(b)], axis).data, np.concatenate([a, b], axis))
    np.testing.assert_array_equal(ops.stack([Tensor(a), Tensor(b)], axis).data, np.stack([a, b], axis))
    assert gradcheck(lambda x, y: ops.concatenate([x, y], axis=axis), a, b)
    assert gradcheck(lambda x, y: ops.stack([x, y], axis=axis), a, b)


@given(pair=broadcast_shapes(), seed=seeds)
def test_where(pair, seed):
    a, b = array_for(pair[0], seed), array_for(pair[1], seed + 1)
    cond = np.random.default_rng(seed).random(np.broadcast_shapes(a.shape, b.shape)) > 0.5
    np.testing.assert_array_equal(ops.where(cond, Tensor(a), Tensor(b)).data, np.where(cond, a, b))
    assert gradcheck(lambda x, y: ops.where(cond, x, y), a, b)


def test_max_ties_split_gradient():
    x = Tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])


def test_comparisons_give_bool_without_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = x > 1.5
    assert c.dtype == bool and not c.requires_grad
    np.testing.assert_array_equal(c.data, [False, True])


def test_scalar_operands_keep_float32():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = 2 * x + 1.5 - x / 3 + x ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_mixed_precision_grad_has_input_dtype():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    w = Tensor(np.ones(3, dtype=np.float64), requires_grad=True)
    (x * w).sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64


def test_numpy_array_on_the_left():
    x = Tensor(np.ones(3), requires_grad=True)
    y = np.arange(3.0) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 2.0])


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(minidl.Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return g * self.a  # wrong: should be 2 a g

    with pytest.raises(GradcheckError, match=r"input 0 .* analytic .* numeric"):
        gradcheck(lambda t: BadSquare.apply(t), np.array([1.0, 2.0]))
