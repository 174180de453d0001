"""Optimizers: Keras's formulas step by step against hand-written NumPy, state round trip, lookup, validation."""
import json

import numpy as np
import pytest

from minidl import Tensor, optimizers
from minidl.optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop, schedules


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


def np_rmsprop(p, grads, lr, rho, eps, momentum=0.0, centered=False):
    # keras/src/optimizers/rmsprop.py: eps inside the root
    p, ms, mom, mg = p.copy(), np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        ms = rho * ms + (1 - rho) * g * g
        if centered:
            mg = rho * mg + (1 - rho) * g
            den = ms - mg * mg + eps
        else:
            den = ms + eps
        inc = lr * g / np.sqrt(den)
        if momentum > 0:
            mom = momentum * mom + inc
            p = p - mom
        else:
            p = p - inc
    return p


def np_adadelta(p, grads, lr, rho, eps):
    # keras/src/optimizers/adadelta.py
    p, eg, ed = p.copy(), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        eg = rho * eg + (1 - rho) * g * g
        d = -np.sqrt(ed + eps) * g / np.sqrt(eg + eps)
        ed = rho * ed + (1 - rho) * d * d
        p = p + lr * d
    return p


def np_adagrad(p, grads, lr, acc0, eps):
    # keras/src/optimizers/adagrad.py
    p, acc = p.copy(), np.full_like(p, acc0)
    for g in grads:
        acc = acc + g * g
        p = p - lr * g / np.sqrt(acc + eps)
    return p


def np_nadam(p, grads, lr, b1, b2, eps):
    # keras/src/optimizers/nadam.py: u_product is multiplied before each step's update
    p, m, v, u_product = p.copy(), np.zeros_like(p), np.zeros_like(p), 1.0
    for it, g in enumerate(grads):            # it = iterations before the step
        u_product = u_product * b1 * (1.0 - 0.5 * 0.96 ** (it + 1))
        local_step, next_step = it + 1, it + 2
        u_t = b1 * (1.0 - 0.5 * 0.96 ** local_step)
        u_t_1 = b1 * (1.0 - 0.5 * 0.96 ** next_step)
        u_product_t_1 = u_product * u_t_1
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - b2 ** local_step)
        p = p - m_hat * lr / (np.sqrt(v_hat) + eps)
    return p


def np_adamw(p, grads, lr, wd, b1, b2, eps, amsgrad=False):
    # keras/src/optimizers/base_optimizer.py _apply_weight_decay, then adam.py's update_step
    p, m, v, vhat = p.copy(), np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        p = p - p * wd * lr
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        vv = v
        if amsgrad:
            vhat = np.maximum(vhat, v)
            vv = vhat
        p = p - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(vv) + eps)
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
    (lambda: RMSprop(0.01, momentum=0.7, centered=True),
     lambda p, gs: np_rmsprop(p, gs, 0.01, 0.9, 1e-7, momentum=0.7, centered=True)),
    (lambda: Adadelta(), lambda p, gs: np_adadelta(p, gs, 0.001, 0.95, 1e-7)),
    (lambda: Adadelta(1.0, rho=0.9, epsilon=1e-6), lambda p, gs: np_adadelta(p, gs, 1.0, 0.9, 1e-6)),
    (lambda: Adagrad(), lambda p, gs: np_adagrad(p, gs, 0.001, 0.1, 1e-7)),
    (lambda: Adagrad(0.1, initial_accumulator_value=0.0, epsilon=1e-3), lambda p, gs: np_adagrad(p, gs, 0.1, 0.0, 1e-3)),
    (lambda: Nadam(), lambda p, gs: np_nadam(p, gs, 0.001, 0.9, 0.999, 1e-7)),
    (lambda: Nadam(0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-4), lambda p, gs: np_nadam(p, gs, 0.02, 0.5, 0.9, 1e-4)),
    (lambda: AdamW(), lambda p, gs: np_adamw(p, gs, 0.001, 0.004, 0.9, 0.999, 1e-7)),
    (lambda: AdamW(0.05, weight_decay=0.1, amsgrad=True),
     lambda p, gs: np_adamw(p, gs, 0.05, 0.1, 0.9, 0.999, 1e-7, amsgrad=True)),
    (lambda: SGD(0.1, weight_decay=0.5), lambda p, gs: np_adamw_sgd(p, gs, 0.1, 0.5)),
]


def np_adamw_sgd(p, grads, lr, wd):
    p = p.copy()
    for g in grads:
        p = p - p * wd * lr
        p = p - lr * g
    return p


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


@pytest.mark.parametrize("opt", [SGD(0.1), SGD(0.05, momentum=0.9, nesterov=True), Adam(0.1), RMSprop(0.05),
                                 Adadelta(1.0, epsilon=1e-2), Adagrad(0.5), Nadam(0.1), AdamW(0.1, weight_decay=1e-4)],
                         ids=["sgd", "nesterov", "adam", "rmsprop", "adadelta", "adagrad", "nadam", "adamw"])
def test_converges_on_quadratic(opt):
    # f(p) = 0.5 * sum(a * (p - c)^2), grad a * (p - c); minimum at c.
    a = np.array([1.0, 3.0, 0.5])
    c = np.array([2.0, -1.0, 0.5])
    p = Tensor(np.zeros(3), requires_grad=True)
    for _ in range(500):
        p.grad = a * (p.data - c)
        opt.apply_gradients([p])
    np.testing.assert_allclose(p.data, c, atol=2e-2)


@pytest.mark.parametrize("make", [
    lambda: SGD(0.05, momentum=0.9), lambda: Adam(0.01), lambda: RMSprop(0.01, momentum=0.5, centered=True),
    lambda: Adadelta(1.0), lambda: Adagrad(0.1), lambda: Nadam(0.01), lambda: AdamW(0.01, amsgrad=True),
    lambda: SGD(schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True), clipnorm=0.5),
], ids=["sgd", "adam", "rmsprop", "adadelta", "adagrad", "nadam", "adamw", "sgd-schedule"])
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
    assert cfg == {"name": "SGD", "learning_rate": 0.2, "momentum": 0.5, "nesterov": True, "weight_decay": None,
                   "clipnorm": None, "global_clipnorm": None, "clipvalue": None}
    back = optimizers.get(cfg)
    assert isinstance(back, SGD) and back.get_config() == cfg
    assert Adam.from_config(Adam(0.3, epsilon=1e-4).get_config()).epsilon == 1e-4
    for name, cls in [("adadelta", Adadelta), ("Adagrad", Adagrad), ("NADAM", Nadam), ("adamw", AdamW)]:
        assert type(optimizers.get(name)) is cls
    with pytest.raises(ValueError, match="adadelta, adagrad, adam, adamw, nadam, rmsprop, sgd"):
        optimizers.get("adamax")
    with pytest.raises(ValueError, match="one of: adadelta, adagrad, adam"):
        optimizers.get(3)


@pytest.mark.parametrize("make, arg", [
    (lambda: SGD(0.0), "learning_rate"), (lambda: SGD(-1), "learning_rate"), (lambda: Adam(float("nan")), "learning_rate"),
    (lambda: SGD("0.1"), "learning_rate"), (lambda: SGD(0.1, momentum=1.5), "momentum"),
    (lambda: SGD(0.1, momentum=-0.1), "momentum"), (lambda: Adam(beta_1=1.0), "beta_1"),
    (lambda: Adam(beta_2=-0.1), "beta_2"), (lambda: Adam(epsilon=-1), "epsilon"), (lambda: RMSprop(rho=1.0), "rho"),
    (lambda: SGD(0.1, nesterov="yes"), "nesterov"), (lambda: Adam(epsilon=0), "epsilon"),
    (lambda: Nadam(epsilon=0.0), "epsilon"), (lambda: Adadelta(rho=1.5), "rho"), (lambda: RMSprop(momentum=1), "momentum"),
    (lambda: Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (lambda: AdamW(weight_decay=-1), "weight_decay"), (lambda: AdamW(weight_decay=None), "weight_decay"),
    (lambda: Adam(clipnorm=0), "clipnorm"), (lambda: Adam(clipnorm=1, clipvalue=1), "only one of"),
    (lambda: Adam(amsgrad="True"), "amsgrad"), (lambda: Adam(float("inf")), "learning_rate"),
    (lambda: SGD(True), "learning_rate"), (lambda: RMSprop(centered=1), "centered"),
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
    # Torch's eps is added to sqrt(v_hat); Keras's to sqrt(v) before the correction. With eps ~ 0 they agree;
    # plain SGD is identical.
    for ours, theirs in [
        (SGD(0.1), lambda w: torch.optim.SGD([w], lr=0.1)),
        (Adam(0.01, epsilon=1e-300), lambda w: torch.optim.Adam([w], lr=0.01, betas=(0.9, 0.999), eps=0.0)),
    ]:
        w = torch.tensor(p0.copy(), requires_grad=True)
        topt = theirs(w)
        for g in grads:
            w.grad = torch.tensor(g)
            topt.step()
        np.testing.assert_allclose(run(ours, p0, grads), w.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.1), lambda: RMSprop(0.1),
                                  lambda: Adagrad(0.1), lambda: Adadelta(1.0), lambda: Nadam(0.1),
                                  lambda: AdamW(0.1, weight_decay=0.5)],
                         ids=["sgd", "adam", "rmsprop", "adagrad", "adadelta", "nadam", "adamw"])
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


@pytest.mark.parametrize("make", [lambda: RMSprop(0.1, centered=True), lambda: RMSprop(momentum=0.5),
                                  lambda: Adam(amsgrad=True), lambda: SGD(0.1, clipvalue=1.0)],
                         ids=["rmsprop-centered", "rmsprop-momentum", "amsgrad", "clip"])
def test_device_without_kernel_says_so_and_changes_nothing(make):
    try:
        from minidl.kernels import cuda
    except ImportError:
        pytest.skip("numba-cuda not installed")
    p0 = np.ones((2, 3), np.float32)
    dev = Tensor._make(cuda.to_device(p0.copy()), True)
    dev.grad = cuda.to_device(np.ones((2, 3), np.float32))
    opt = make()
    with pytest.raises(NotImplementedError, match=f"{type(opt).__name__}: .*no CUDA kernel"):
        opt.apply_gradients([dev])
    assert opt.iterations == 0
    np.testing.assert_array_equal(dev.data.copy_to_host(), p0)


# ---------------------------------------------------------------------------------------------------- clipping
def test_clipnorm_global_clipnorm_clipvalue_match_keras():
    rng = np.random.default_rng(3)
    shapes = [(3, 4), (5,)]
    p0 = [rng.standard_normal(s) for s in shapes]
    grads = [[3 * rng.standard_normal(s) for s in shapes] for _ in range(3)]

    def run_many(opt):
        ps = [Tensor(p.copy(), requires_grad=True) for p in p0]
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = g
            opt.apply_gradients(ps)
        return [p.data for p in ps]

    def sgd_with(clip):
        ps = [p.copy() for p in p0]
        for gs in grads:
            gs = clip(gs)
            ps = [p - 0.1 * g for p, g in zip(ps, gs)]
        return ps

    def by_norm(gs, c=1.0):  # keras _clip_by_norm
        return [g * c / max(np.sqrt(np.sum(g * g)), c) for g in gs]

    def by_global(gs, c=1.0):  # keras clip_by_global_norm
        n = np.sqrt(sum(np.sum(g * g) for g in gs))
        return [g * (c * min(1 / n, 1 / c)) for g in gs]

    for opt, clip in [(SGD(0.1, clipnorm=1.0), by_norm), (SGD(0.1, global_clipnorm=1.0), by_global),
                      (SGD(0.1, clipvalue=0.5), lambda gs: [np.clip(g, -0.5, 0.5) for g in gs])]:
        for a, b in zip(run_many(opt), sgd_with(clip)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # clipping never writes into the caller's gradients
    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = np.full(3, 10.0)
    SGD(0.1, clipvalue=1.0).apply_gradients([p])
    np.testing.assert_array_equal(p.grad, 10.0)
    np.testing.assert_allclose(p.data, -0.1)


# ---------------------------------------------------------------------------------------------------- schedules
def test_schedules_match_keras_formulas():
    e = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    es = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    for step in (0, 5, 10, 27):
        assert e(step) == pytest.approx(0.1 * 0.5 ** (step / 10))
        assert es(step) == pytest.approx(0.1 * 0.5 ** (step // 10))
    it = schedules.InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)
    assert [it(s) for s in (0, 1, 4)] == pytest.approx([1.0, 1 / 1.5, 1 / 3.0])
    pw = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [pw(s) for s in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    c = schedules.CosineDecay(0.2, decay_steps=100, alpha=0.1)
    for step in (0, 25, 50, 100, 150):
        s = min(step, 100)
        assert c(step) == pytest.approx(0.2 * ((1 - 0.1) * 0.5 * (1 + np.cos(np.pi * s / 100)) + 0.1))
    w = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=5)
    assert [w(s) for s in (0, 1, 4)] == pytest.approx([0.0, 0.2, 0.8])
    assert w(5) == pytest.approx(1.0)
    assert w(10) == pytest.approx(0.5)
    assert w(15) == pytest.approx(0.0, abs=1e-12) and w(100) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.9), "decay_steps"),
    (lambda: schedules.ExponentialDecay(0.1, 10, 0.9, staircase="no"), "staircase"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0]), "1 less than"),
    (lambda: schedules.PiecewiseConstantDecay([2, 1], [1.0, 0.5, 0.1]), "strictly increasing"),
    (lambda: schedules.CosineDecay(0.1, -5), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 5, warmup_target=1.0), "warmup_steps"),
])
def test_schedule_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_optimizer_reads_schedule_at_steps_done():
    # Keras 3 evaluates learning_rate(iterations) before the increment: 0 for the first step.
    sched = schedules.PiecewiseConstantDecay([0, 1], [1.0, 0.5, 0.25])
    opt = SGD(sched)
    p = Tensor(np.zeros(1), requires_grad=True)
    lrs = []
    for _ in range(4):
        lrs.append(opt.learning_rate)
        p.grad = np.ones(1)
        opt.apply_gradients([p])
    assert lrs == [1.0, 0.5, 0.25, 0.25]
    np.testing.assert_allclose(p.data, -(1.0 + 0.5 + 0.25 + 0.25))
    with pytest.raises(TypeError, match="cannot be set to a number"):
        opt.learning_rate = 0.1
    # a callable without arguments works too (Keras accepts one)
    o2 = SGD(lambda: 0.3)
    p.grad = np.ones(1)
    o2.apply_gradients([p])
    np.testing.assert_allclose(p.data, -2.3)
    with pytest.raises(TypeError, match="cannot be saved"):
        o2.get_config()


def test_schedule_returning_nonsense_changes_nothing():
    class Bad(schedules.LearningRateSchedule):
        def __call__(self, step):
            return float("nan")

    opt = Adam(Bad())
    p = Tensor(np.ones(2), requires_grad=True)
    p.grad = np.ones(2)
    with pytest.raises(ValueError, match="returned nan"):
        opt.apply_gradients([p])
    assert opt.iterations == 0 and not opt._slots
    np.testing.assert_array_equal(p.data, 1.0)


def test_schedule_config_roundtrip_and_custom_subclass():
    opt = Adam(schedules.CosineDecay(1e-3, 100, alpha=0.1, warmup_target=1e-2, warmup_steps=10), clipnorm=2.0)
    cfg = json.loads(json.dumps(opt.get_config()))
    back = optimizers.get(cfg)
    assert isinstance(back.learning_rate_schedule, schedules.CosineDecay)
    assert back.get_config() == opt.get_config()

    class Halving(schedules.LearningRateSchedule):
        def __init__(self, lr0):
            self.lr0 = lr0

        def __call__(self, step):
            return self.lr0 / 2 ** step

        def get_config(self):
            return {"lr0": self.lr0}

    back = optimizers.get(json.loads(json.dumps(SGD(Halving(0.8)).get_config())))
    assert back.learning_rate == 0.8 and back.learning_rate_schedule.lr0 == 0.8
    with pytest.raises(ValueError, match="unknown learning rate schedule 'Nope'; known schedules: .*CosineDecay"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


# ---------------------------------------------------------------------------------------------------- arguments
def test_keras2_arguments_say_what_replaces_them():
    with pytest.raises(TypeError, match=r"`lr` is the Keras 2 name.*Adam\(learning_rate=0.01\)"):
        Adam(lr=0.01)
    with pytest.raises(TypeError, match=r"`decay`.*removed in Keras 3.*InverseTimeDecay\(.*decay_rate=1e-06"):
        SGD(0.1, decay=1e-6)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) betas; supported.*clipnorm"):
        Adam(betas=(0.9, 0.99))


def test_numpy_scalars_accepted():
    opt = Adam(np.float32(0.01), beta_1=np.float64(0.8), beta_2=np.float32(0.99), epsilon=np.float32(1e-6))
    assert isinstance(opt.learning_rate, float) and opt.beta_1 == 0.8
    SGD(np.int64(1), momentum=np.float32(0.5))
    Adagrad(initial_accumulator_value=np.int64(0))


# ---------------------------------------------------------------------------------------------------- atomic steps
@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(), lambda: Nadam(),
                                  lambda: AdamW(global_clipnorm=1.0)], ids=["sgd", "adam", "nadam", "adamw"])
def test_bad_gradient_rejected_before_any_change(make):
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(4), requires_grad=True)
    a.grad, b.grad = np.ones(3), np.ones(5)  # b's gradient has the wrong shape
    opt = make()
    with pytest.raises(ValueError, match=r"gradient shape \(5,\) differs"):
        opt.apply_gradients([a, b])
    assert opt.iterations == 0 and not opt._slots
    np.testing.assert_array_equal(a.data, 1.0)
    b.grad = np.ones(4, dtype=complex)
    with pytest.raises(TypeError, match="must be real"):
        opt.apply_gradients([a, b])
    with pytest.raises(TypeError, match="item 1 must be a Tensor"):
        opt.apply_gradients([a, np.ones(3)])
    assert opt.iterations == 0
    np.testing.assert_array_equal(a.data, 1.0)


def test_grads_and_vars_pairs():
    p = Tensor(np.zeros(2), requires_grad=True)
    opt = SGD(0.5)
    assert opt.apply_gradients([(np.ones(2), p)]) == 1
    np.testing.assert_allclose(p.data, -0.5)
    assert p.grad is None


def test_set_state_checks_everything_before_changing_anything():
    rng = np.random.default_rng(0)
    ps = [Tensor(rng.standard_normal(3), requires_grad=True), Tensor(rng.standard_normal(2), requires_grad=True)]
    opt = Adam(0.1)
    for p in ps:
        p.grad = np.ones_like(p.data)
    opt.apply_gradients(ps)
    before = opt.get_state(ps)
    for bad_state, match in [
        ([np.array(7), np.ones(3), np.ones(3), np.ones(2), np.full(2, np.nan)], "non-finite"),
        ([np.array(7), np.ones(3), np.ones(3), np.ones(2), np.ones(3)], "shape"),
        ([np.array(7), np.ones(3), np.ones(3), np.ones(2), np.ones(2, complex)], "real"),
        ([np.array(-1), np.ones(3), np.ones(3), np.ones(2), np.ones(2)], "whole number >= 0"),
        ([np.array(1.5), np.ones(3), np.ones(3), np.ones(2), np.ones(2)], "whole number >= 0"),
    ]:
        with pytest.raises(ValueError, match=match):
            opt.set_state(ps, bad_state)
        assert opt.iterations == 1
        for x, y in zip(opt.get_state(ps), before):
            np.testing.assert_array_equal(x, y)


def test_ctrl_c_during_a_step_is_held_until_every_parameter_is_updated():
    import os
    import signal

    class Interrupting(SGD):
        def _update(self, B, param, grad, slots, t, lr):
            super()._update(B, param, grad, slots, t, lr)
            if not self.fired:
                self.fired = True
                os.kill(os.getpid(), signal.SIGINT)  # arrives after the first parameter's update

    opt = Interrupting(0.5)
    opt.fired = False
    ps = [Tensor(np.zeros(2), requires_grad=True) for _ in range(3)]
    for p in ps:
        p.grad = np.ones(2)
    with pytest.raises(KeyboardInterrupt):
        opt.apply_gradients(ps)
    assert opt.iterations == 1
    for p in ps:
        np.testing.assert_allclose(p.data, -0.5)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_model_with_a_schedule_and_new_optimizer_saves_and_resumes(tmp_path):
    import minidl
    from minidl import layers

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 3)).astype("float32"), rng.standard_normal((32, 2)).astype("float32")
    for opt in (Nadam(schedules.ExponentialDecay(0.01, 3, 0.5)), Adagrad(0.05, clipnorm=1.0), Adadelta(1.0)):
        minidl.utils.set_random_seed(0)
        model = minidl.Sequential([layers.Input((3,)), layers.Dense(2)])
        model.compile(opt, "mse")
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
        model.save(tmp_path / "m.npz")
        loaded = minidl.load_model(tmp_path / "m.npz")
        assert type(loaded.optimizer) is type(opt) and loaded.optimizer.iterations == 4
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
        loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_one_optimizer_reused_for_many_models_keeps_no_old_slots():
    # The slots of parameters that no longer exist are dropped (they used to keep every old model alive).
    import gc

    import minidl
    from minidl import layers

    opt = optimizers.Adam()
    x, y = np.ones((4, 8), "float32"), np.zeros((4, 2), "float32")
    for _ in range(5):
        model = minidl.Sequential([minidl.Input((8,)), layers.Dense(16), layers.Dense(2)])
        model.compile(opt, "mse")
        model.fit(x, y, epochs=1, verbose=0)
        gc.collect()                  # the previous model is unreachable now (layers and models form cycles)
        assert len(opt._slots) == 4   # this model's 4 parameters (2 kernels, 2 biases) only
    del model
    gc.collect()
    assert len(opt._slots) == 0
