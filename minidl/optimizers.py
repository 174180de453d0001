"""Optimizers with Keras's update formulas, stepping parameters in place through the backend kernels.

Every optimizer has the same life cycle::

    opt = minidl.optimizers.get("adam")          # or Adam(learning_rate=1e-3)
    loss.backward()
    opt.apply_gradients(params)                  # p.data updated in place from p.grad; grads left as they are

A step costs one kernel launch per parameter (``kernel_table.of(p.data).adam_update(...)`` etc.), never a Python
loop over elements. Slot arrays (SGD velocity, Adam ``m``/``v``, RMSprop mean square) are created lazily
on the parameter's device the first time the parameter receives a gradient.

Formulas (``g`` the gradient, ``t`` the 1-based step number, all element-wise):

- SGD:     ``v = momentum v - lr g``; ``p += v``; nesterov: ``p += momentum v - lr g``.
- Adam:    ``m += (g - m)(1 - b1)``; ``v += (g² - v)(1 - b2)``;
  ``p -= lr sqrt(1 - b2^t) / (1 - b1^t) · m / (sqrt(v) + eps)`` (Keras puts eps outside the
  bias correction of ``v``, unlike the paper and torch).
- RMSprop: ``ms = rho ms + (1 - rho) g²``; ``p -= lr g / (sqrt(ms) + eps)`` (Keras 3, no momentum, not centered).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from . import kernel_table
from .autograd import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "get", "serialize", "deserialize"]


# ---------------------------------------------------------------------------------------------------- checks
def _number(value: Any, name: str, cls: str) -> float:
    # bool is an int subclass; `momentum=True` is almost certainly a mistake, so reject it.
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{cls}: {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{cls}: {name} must be finite, got {value!r}")
    return value


def _check_lr(value: Any, cls: str) -> float:
    lr = _number(value, "learning_rate", cls)
    if lr <= 0:
        raise ValueError(f"{cls}: learning_rate must be > 0, got {lr!r}")
    return lr


def _check_range(value: Any, name: str, cls: str, lo: float, hi: float, hi_open: bool) -> float:
    v = _number(value, name, cls)
    if v < lo or (v >= hi if hi_open else v > hi):
        raise ValueError(f"{cls}: {name} must be in [{lo}, {hi}{')' if hi_open else ']'}, got {v!r}")
    return v


def _check_eps(value: Any, cls: str) -> float:
    eps = _number(value, "epsilon", cls)
    if eps < 0:
        raise ValueError(f"{cls}: epsilon must be >= 0, got {eps!r}")
    return eps


def _to_host(a: Any) -> np.ndarray:
    return np.array(a) if isinstance(a, np.ndarray) else np.asarray(a.copy_to_host())


# ---------------------------------------------------------------------------------------------------- base
class Optimizer:
    """Base class: slot bookkeeping, the step counter, config and state.

    Subclasses define ``name``, ``slot_names`` and :meth:`_update` (one kernel call for one parameter).

    Attributes:
        learning_rate: step size (float > 0); may be changed between steps (schedules, callbacks).
        iterations: number of :meth:`apply_gradients` calls so far.
    """

    name: str = "optimizer"
    slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate
        self.iterations: int = 0
        # id(param) -> (param, {slot name: array}). The parameter itself is kept so that its id cannot be
        # reused by a new object while the slots are alive (ids are only unique among live objects).
        self._slots: dict[int, tuple[Tensor, dict[str, Any]]] = {}

    # learning_rate is validated on every assignment, not only in __init__.
    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = _check_lr(value, type(self).__name__)

    # ------------------------------------------------------------------ slots
    def _get_slots(self, p: Tensor) -> dict[str, Any]:
        entry = self._slots.get(id(p))
        if entry is None or entry[0] is not p:
            B = kernel_table.of(p.data)
            slots = {s: B.zeros(p.data.shape, dtype=p.data.dtype) for s in self.slot_names}
            entry = self._slots[id(p)] = (p, slots)
        return entry[1]

    @staticmethod
    def _prepare_grad(p: Tensor) -> Any:
        g = p.grad
        if isinstance(p.data, np.ndarray):
            g = np.asarray(g)
            if g.shape != p.data.shape:
                raise ValueError(f"gradient shape {g.shape} differs from parameter shape {p.data.shape}")
            # The kernels want C-contiguous arrays of the parameter's dtype (no-op when already so).
            g = np.ascontiguousarray(g, dtype=p.data.dtype)
        return g

    # ------------------------------------------------------------------ stepping
    def apply_gradients(self, params: Iterable[Tensor]) -> None:
        """One optimisation step on every parameter that has a gradient.

        Args:
            params: tensors whose ``.grad`` (same shape as ``.data``) drives the update; those with
                ``grad is None`` are left untouched (and their slots are not created).
        """
        self.iterations += 1
        t = self.iterations
        for p in params:
            if p.grad is None:
                continue
            if isinstance(p.data, np.ndarray) and not p.data.flags.c_contiguous:
                raise ValueError("optimizer: parameter data must be C-contiguous to be updated in place")
            g = self._prepare_grad(p)
            self._update(kernel_table.of(p.data), p.data, g, self._get_slots(p), t)

    def _update(self, B: Any, param: Any, grad: Any, slots: dict[str, Any], t: int) -> None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ config / state
    def get_config(self) -> dict[str, Any]:
        """JSON-able hyper-parameters, including ``'name'``; ``type(opt).from_config(cfg)`` rebuilds it."""
        return {"name": self.name, "learning_rate": float(self.learning_rate)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Optimizer":
        cfg = {k: v for k, v in config.items() if k != "name"}
        return cls(**cfg)

    def get_state(self, params: Sequence[Tensor]) -> list[np.ndarray]:
        """The optimizer's state as host arrays: ``[iterations]`` then each parameter's slots in order.

        Parameters that have no slots yet contribute zeros, which is exactly their fresh state, so the
        layout depends only on ``params`` and the optimizer class.
        """
        state = [np.array(self.iterations, dtype=np.int64)]
        for p in params:
            slots = self._get_slots(p)
            state.extend(_to_host(slots[s]) for s in self.slot_names)
        return state

    def set_state(self, params: Sequence[Tensor], state: Sequence[np.ndarray]) -> None:
        """Restores what :meth:`get_state` returned, so training continues exactly where it stopped."""
        params = list(params)
        expected = 1 + len(self.slot_names) * len(params)
        if len(state) != expected:
            raise ValueError(
                f"{type(self).__name__}.set_state: expected {expected} arrays (iterations + "
                f"{len(self.slot_names)} slot(s) x {len(params)} parameters), got {len(state)}"
            )
        it = np.asarray(state[0])
        if it.size != 1:
            raise ValueError(f"set_state: the first array must be the iteration count, got shape {it.shape}")
        self.iterations = int(it.reshape(-1)[0])
        k = 1
        for p in params:
            slots = self._get_slots(p)
            for s in self.slot_names:
                arr = np.asarray(state[k])
                k += 1
                if arr.shape != tuple(p.data.shape):
                    raise ValueError(f"set_state: slot {s!r} has shape {arr.shape}, parameter has {p.data.shape}")
                arr = np.ascontiguousarray(arr, dtype=p.data.dtype)
                if isinstance(slots[s], np.ndarray):
                    slots[s][...] = arr
                else:  # device array
                    slots[s].copy_to_device(arr)

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({cfg})"


# ---------------------------------------------------------------------------------------------------- SGD
class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, Keras's formula.

    ``v = momentum v - lr g``; ``p += v`` (nesterov: ``p += momentum v - lr g``). With momentum 0 this is
    plain ``p -= lr g``. Note torch's momentum differs (``v = m v + g; p -= lr v``): the same only when
    the learning rate is constant.
    """

    name = "SGD"
    slot_names = ("velocity",)  # the kernel always takes one; with momentum 0 it stays -lr g

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(learning_rate)
        self.momentum = _check_range(momentum, "momentum", "SGD", 0.0, 1.0, hi_open=False)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"SGD: nesterov must be a bool, got {nesterov!r}")
        self.nesterov = bool(nesterov)

    def _update(self, B, param, grad, slots, t):
        B.sgd_update(param, grad, slots["velocity"], self.learning_rate, self.momentum, self.nesterov)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


# ---------------------------------------------------------------------------------------------------- Adam
class Adam(Optimizer):
    """Adam (Kingma & Ba) as Keras computes it.

    ``m += (g - m)(1 - b1)``; ``v += (g² - v)(1 - b2)``; ``p -= lr sqrt(1 - b2^t)/(1 - b1^t) · m/(sqrt(v) + eps)``
    with ``t`` the 1-based step number (``iterations`` after the increment).
    """

    name = "Adam"
    slot_names = ("m", "v")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate)
        self.beta_1 = _check_range(beta_1, "beta_1", "Adam", 0.0, 1.0, hi_open=True)
        self.beta_2 = _check_range(beta_2, "beta_2", "Adam", 0.0, 1.0, hi_open=True)
        self.epsilon = _check_eps(epsilon, "Adam")

    def _update(self, B, param, grad, slots, t):
        B.adam_update(param, grad, slots["m"], slots["v"], self.learning_rate, self.beta_1, self.beta_2,
                      self.epsilon, t)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


# ---------------------------------------------------------------------------------------------------- RMSprop
class RMSprop(Optimizer):
    """RMSprop as in Keras 3 (no momentum, not centered).

    ``ms = rho ms + (1 - rho) g²``; ``p -= lr g / (sqrt(ms) + eps)``.
    """

    name = "RMSprop"
    slot_names = ("ms",)

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate)
        self.rho = _check_range(rho, "rho", "RMSprop", 0.0, 1.0, hi_open=True)
        self.epsilon = _check_eps(epsilon, "RMSprop")

    def _update(self, B, param, grad, slots, t):
        B.rmsprop_update(param, grad, slots["ms"], self.learning_rate, self.rho, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


# ---------------------------------------------------------------------------------------------------- lookup
_REGISTRY: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``optimizer.get_config()`` (its ``'name'`` says the class)."""
    return optimizer.get_config()


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Rebuilds an optimizer from :func:`serialize`'s dict."""
    name = config.get("name")
    cls = _REGISTRY.get(str(name).lower()) if name is not None else None
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; known optimizers: {', '.join(sorted(_REGISTRY))}")
    return cls.from_config(config)


def get(identifier: Any) -> Optimizer:
    """An optimizer from an instance (returned as is), a name ('sgd', 'adam', 'rmsprop', any case, with
    default hyper-parameters) or a config dict (``{'name': 'adam', 'learning_rate': 1e-3, ...}``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _REGISTRY.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known optimizers: {', '.join(sorted(_REGISTRY))}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        f"cannot interpret {identifier!r} as an optimizer; pass an Optimizer, a config dict or one of: "
        f"{', '.join(sorted(_REGISTRY))}"
    )
