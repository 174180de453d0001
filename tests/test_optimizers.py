"""Optimizers: Keras's formulas step by step against hand-written NumPy, state round trip, lookup, validation."""
import json

import numpy as np
import pytest

from minidl import Tensor, optimizers
from minidl.optimizers import SGD, Adam, RMSprop


# ---------------------------------------------------------------------------------------------------- oracles
def np_sgd(p, grads, lr, momentum, nesterov):
    p, v = p.copy(), np.zeros_like(p)
    for g in grads:
        v = momentum * v - lr * g
        p = p + (momentum * v - lr * g if nesterov else v)
    return p


def np_adam(p, grads, lr, b1, b2, eps):
    p, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        p = p - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return p


def np_rmsprop(p, grads, lr, rho, eps):
    p, ms = p.copy(), np.zeros_like(p)
    for g in grads:
        ms = rho * ms + (1 - rho) * g * g
        p = p - lr * g / (np.sqrt(ms) + eps)
    return p


def run(opt, p0, grads):
    p = Tensor(p0.copy(), requires_grad=True)
    for g in grads:
        p.grad = g
        opt.apply_gradients([p])
    return p.data


CASES = [
    (lambda: SGD(0.1), lambda p, gs: np_sgd(p, gs, 0.1, 0.0, False)),
    (lambda: SGD(0.05, momentum=0.9), lambda p, gs: np_sgd(p, gs, 0.05, 0.9, False)),
    (lambda: SGD(0.05, momentum=0.8, nesterov=True), lambda p, gs: np_sgd(p, gs, 0.05, 0.8, True)),
    (lambda: Adam(0.01), lambda p, gs: np_adam(p, gs, 0.01, 0.9, 0.999, 1e-7)),
    (lambda: Adam(0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-3), lambda p, gs: np_adam(p, gs, 0.02, 0.5, 0.9, 1e-3)),
    (lambda: RMSprop(0.01), lambda p, gs: np_rmsprop(p, gs, 0.01, 0.9, 1e-7)),
    (lambda: RMSprop(0.003, rho=0.5, epsilon=1e-2), lambda p, gs: np_rmsprop(p, gs, 0.003, 0.5, 1e-2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_update_matches_keras_formula(case, dtype):
    make, oracle = CASES[case]
    rng = np.random.default_rng(case)
    p0 = rng.standard_normal((3, 4)).astype(dtype)
    grads = [rng.standard_normal((3, 4)).astype(dtype) for _ in range(5)]
    got = run(make(), p0, grads)
    want = oracle(p0.astype(np.float64), [g.astype(np.float64) for g in grads])
    assert got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_grad_cast_and_made_contiguous():
    p0 = np.arange(12, dtype=np.float32).reshape(3, 4)
    g = np.asfortranarray(np.ones((3, 4), dtype=np.float64))  # wrong dtype and Fortran order
    got = run(SGD(0.5), p0, [g])
    np.testing.assert_allclose(got, p0 - 0.5)
    assert got.dtype == np.float32


def test_params_without_grad_untouched_and_counter():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    before = b.data.copy()
    opt = Adam(0.1)
    a.grad = np.ones(3)
    opt.apply_gradients([a, b])
    opt.apply_gradients([a, b])
    np.testing.assert_array_equal(b.data, before)
    assert not np.array_equal(a.data, before)
    assert opt.iterations == 2
    assert len(opt._slots) == 1  # no slots were made for b


def test_updates_in_place():
    p = Tensor(np.ones(5, dtype=np.float32), requires_grad=True)
    buf = p.data
    p.grad = np.ones(5, dtype=np.float32)
    SGD(0.1, momentum=0.9).apply_gradients([p])
    assert p.data is buf
    np.testing.assert_allclose(buf, 0.9)


@pytest.mark.parametrize("opt", [SGD(0.1), SGD(0.05, momentum=0.9, nesterov=True), Adam(0.1), RMSprop(0.05)],
                         ids=["sgd", "nesterov", "adam", "rmsprop"])
def test_converges_on_quadratic(opt):
    # f(p) = 0.5 * sum(a * (p - c)^2), grad a * (p - c); minimum at c.
    a = np.array([1.0, 3.0, 0.5])
    c = np.array([2.0, -1.0, 0.5])
    p = Tensor(np.zeros(3), requires_grad=True)
    for _ in range(500):
        p.grad = a * (p.data - c)
        opt.apply_gradients([p])
    np.testing.assert_allclose(p.data, c, atol=2e-2)


@pytest.mark.parametrize("make", [lambda: SGD(0.05, momentum=0.9), lambda: Adam(0.01), lambda: RMSprop(0.01)],
                         ids=["sgd", "adam", "rmsprop"])
def test_state_roundtrip_continues_identically(make):
    rng = np.random.default_rng(0)
    shapes = [(2, 3), (3,)]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(6)]
    p_ref = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    p_copy_init = [t.data.copy() for t in p_ref]

    def step(opt, ps, gs):
        for p, g in zip(ps, gs):
            p.grad = g
        opt.apply_gradients(ps)

    ref = make()
    for gs in grads:
        step(ref, p_ref, gs)

    first = make()
    ps = [Tensor(d.copy(), requires_grad=True) for d in p_copy_init]
    for gs in grads[:3]:
        step(first, ps, gs)
    state = first.get_state(ps)
    weights = [p.data.copy() for p in ps]
    # A fresh optimizer and fresh parameter objects, as after loading a saved model.
    second = optimizers.get(json.loads(json.dumps(first.get_config())))
    ps2 = [Tensor(w, requires_grad=True) for w in weights]
    second.set_state(ps2, state)
    assert second.iterations == 3
    for gs in grads[3:]:
        step(second, ps2, gs)
    for a, b in zip(ps2, p_ref):
        np.testing.assert_array_equal(a.data, b.data)


def test_set_state_wrong_length():
    p = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="expected 3 arrays"):
        Adam().set_state([p], [np.array(1)])


def test_get_and_config():
    assert isinstance(optimizers.get("ADAM"), Adam)
    assert isinstance(optimizers.get("sgd"), SGD)
    assert isinstance(optimizers.get("RMSprop"), RMSprop)
    o = Adam(0.5)
    assert optimizers.get(o) is o
    cfg = SGD(0.2, momentum=0.5, nesterov=True).get_config()
    assert cfg == {"name": "SGD", "learning_rate": 0.2, "momentum": 0.5, "nesterov": True}
    back = optimizers.get(cfg)
    assert isinstance(back, SGD) and back.get_config() == cfg
    assert Adam.from_config(Adam(0.3, epsilon=1e-4).get_config()).epsilon == 1e-4
    with pytest.raises(ValueError, match="adam, rmsprop, sgd"):
        optimizers.get("adagrad")
    with pytest.raises(ValueError, match="one of: adam"):
        optimizers.get(3)


@pytest.mark.parametrize("make, arg", [
    (lambda: SGD(0.0), "learning_rate"), (lambda: SGD(-1), "learning_rate"), (lambda: Adam(float("nan")), "learning_rate"),
    (lambda: SGD("0.1"), "learning_rate"), (lambda: SGD(0.1, momentum=1.5), "momentum"),
    (lambda: SGD(0.1, momentum=-0.1), "momentum"), (lambda: Adam(beta_1=1.0), "beta_1"),
    (lambda: Adam(beta_2=-0.1), "beta_2"), (lambda: Adam(epsilon=-1), "epsilon"), (lambda: RMSprop(rho=1.0), "rho"),
    (lambda: SGD(0.1, nesterov="yes"), "nesterov"),
])
def test_validation_names_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_learning_rate_settable_and_validated():
    o = SGD(0.1)
    o.learning_rate = 0.5
    p = Tensor(np.ones(2), requires_grad=True)
    p.grad = np.ones(2)
    o.apply_gradients([p])
    np.testing.assert_allclose(p.data, 0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        o.learning_rate = 0


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(6)
    grads = [rng.standard_normal(6) for _ in range(5)]
    # Torch's eps is added to sqrt(v_hat); Keras's to sqrt(v) before the correction. With eps=0 they agree;
    # plain SGD is identical.
    for ours, theirs in [
        (SGD(0.1), lambda w: torch.optim.SGD([w], lr=0.1)),
        (Adam(0.01, epsilon=0.0), lambda w: torch.optim.Adam([w], lr=0.01, betas=(0.9, 0.999), eps=0.0)),
    ]:
        w = torch.tensor(p0.copy(), requires_grad=True)
        topt = theirs(w)
        for g in grads:
            w.grad = torch.tensor(g)
            topt.step()
        np.testing.assert_allclose(run(ours, p0, grads), w.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.1), lambda: RMSprop(0.1)],
                         ids=["sgd", "adam", "rmsprop"])
def test_device_arrays_match_cpu(make):
    # Runs on the CUDA simulator without a GPU (tests/conftest.py); slots live on the device, state on the host.
    try:
        from minidl.kernels import cuda
    except ImportError:
        pytest.skip("numba-cuda not installed")
    p0 = np.arange(6, dtype=np.float32).reshape(2, 3)
    dev = Tensor._make(cuda.to_device(p0.copy()), True)
    host = Tensor(p0.copy(), requires_grad=True)
    o_dev, o_host = make(), make()
    for i in range(3):
        g = np.full((2, 3), 0.5 * (i + 1), np.float32)
        dev.grad, host.grad = cuda.to_device(g), g
        o_dev.apply_gradients([dev])
        o_host.apply_gradients([host])
    np.testing.assert_allclose(dev.data.copy_to_host(), host.data, rtol=1e-6, atol=1e-6)
    # Restore the device optimizer's state into a fresh one and take one more step on both.
    o2 = make()
    dev2 = Tensor._make(cuda.to_device(dev.data.copy_to_host()), True)
    o2.set_state([dev2], o_dev.get_state([dev]))
    g = np.ones((2, 3), np.float32)
    dev2.grad, host.grad = cuda.to_device(g), g
    o2.apply_gradients([dev2])
    o_host.apply_gradients([host])
    np.testing.assert_allclose(dev2.data.copy_to_host(), host.data, rtol=1e-6, atol=1e-6)
