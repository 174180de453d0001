"""Graph behaviour of the autograd engine and the errors it raises for bad input."""
import numpy as np
import pytest

import minidl
from minidl import Tensor


def test_tensor_defaults_and_dtypes():
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    t = Tensor([[1.0, 2.0]])
    assert t.shape == (1, 2) and t.grad is None and not t.requires_grad
    assert Tensor(3.5).item() == 3.5
    assert isinstance(t.numpy(), np.ndarray)


@pytest.mark.parametrize("bad", [["a", "b"], np.array([object(), 1], dtype=object), "text"])
def test_non_numeric_data_is_a_type_error_naming_the_dtype(bad):
    with pytest.raises(TypeError, match="dtype"):
        Tensor(bad)


def test_diamond_graph_accumulates_both_paths():
    x = Tensor(np.array([2.0]), requires_grad=True)
    a = x * 3.0
    b = x * x
    (a + b).sum().backward()  # d/dx (3x + x^2) = 3 + 2x
    np.testing.assert_allclose(x.grad, [7.0])


def test_value_used_twice_gets_both_contributions():
    x = Tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x * x  # the same tensor on both sides of one op
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_ten_thousand_op_chain_does_not_hit_recursion_limit():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y + 1e-4 * y
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [(1 + 1e-4) ** 10_000], rtol=1e-10)


def test_no_grad_records_nothing():
    x = Tensor(np.ones(2), requires_grad=True)
    with minidl.no_grad():
        y = x * 2
    assert not y.requires_grad and y._ctx is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    with minidl.no_grad():
        with minidl.enable_grad():
            z = x * 2
    assert z.requires_grad


def test_leaf_not_reached_keeps_grad_none():
    x = Tensor(np.ones(2), requires_grad=True)
    unused = Tensor(np.ones(2), requires_grad=True)
    (x * 2).sum().backward()
    assert unused.grad is None
    assert x.grad is not None


def test_gradients_accumulate_across_backward_calls_until_zero_grad():
    x = Tensor(np.array([1.0]), requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0])
    x.zero_grad()
    assert x.grad is None


def test_graph_is_freed_after_backward_unless_retained():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data)
    with pytest.raises(RuntimeError, match="already freed"):
        y.backward()


def test_backward_on_non_scalar_needs_a_gradient():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_backward_gradient_of_wrong_shape():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        (x * 2).backward(np.ones(2))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(1)).backward()


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_broadcast_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))


def test_reshape_mismatch_is_clear():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))).reshape(4)


def test_detach_cuts_the_graph():
    x = Tensor(np.ones(2), requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d._ctx is None


def test_multi_output_function_gets_zero_for_unused_output():
    class Split(minidl.Function):
        def forward(self, a):
            return a * 2, a * 3

        def backward(self, grads):
            g1, g2 = grads
            return 2 * g1 + 3 * g2

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    a, b = Split.apply(x)
    a.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0])
