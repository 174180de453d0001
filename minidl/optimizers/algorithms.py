"""The optimizers, with Keras 3's update rules and defaults (``g`` the gradient, ``t`` the 1-based step).

=========  ==================================================================  =================================
optimizer  update (element-wise)                                               Keras 3 defaults
=========  ==================================================================  =================================
SGD        ``v = momentum v - lr g``; ``p += v`` (nesterov ``p += momentum v     lr 0.01, momentum 0
           - lr g``)
Adam       ``m += (g-m)(1-b1)``; ``v += (g²-v)(1-b2)``;                         lr 0.001, 0.9, 0.999, 1e-7
           ``p -= lr sqrt(1-b2^t)/(1-b1^t) · m/(sqrt(v)+eps)``
AdamW      Adam after ``p -= p · weight_decay · lr``                           lr 0.001, weight_decay 0.004
RMSprop    ``ms = rho ms + (1-rho) g²``; ``p -= lr g / sqrt(ms + eps)``         lr 0.001, rho 0.9, 1e-7
           (centered: ``ms - mg²`` under the root; momentum: a velocity)
Adadelta   ``Eg = rho Eg + (1-rho) g²``; ``d = -sqrt(Ed+eps)/sqrt(Eg+eps) g``;   lr 0.001, rho 0.95, 1e-7
           ``Ed = rho Ed + (1-rho) d²``; ``p += lr d``
Adagrad    ``acc += g²``; ``p -= lr g / sqrt(acc + eps)``                       lr 0.001, acc0 0.1, 1e-7
Nadam      Adam with Nesterov momentum and the cache ``u_t = b1 (1 - 0.5·0.96^t)``  lr 0.001, 0.9, 0.999, 1e-7
=========  ==================================================================  =================================

Each step is one kernel call per parameter, ``kernel_table.of(p.data).<name>_update`` (Numba on the CPU,
numba.cuda on 'cuda'; kernels in ``kernels/optimizers/``, weight decay included). The variants without a
kernel (amsgrad, centered or momentum RMSprop, and gradient clipping) run the NumPy rules of
:mod:`minidl.optimizers.reference` on the CPU and raise NotImplementedError on 'cuda'.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import reference
from .base import Optimizer, _check_bool, _check_eps, _check_range

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "Nadam"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, Keras's formula.

    ``v = momentum v - lr g``; ``p += v`` (nesterov: ``p += momentum v - lr g``). With momentum 0 this is
    plain ``p -= lr g``. Note torch's momentum differs (``v = m v + g; p -= lr v``): the same only when
    the learning rate is constant.
    """

    name = "SGD"

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.momentum = _check_range(momentum, "momentum", "SGD", 0.0, 1.0, hi_open=False)
        self.nesterov = _check_bool(nesterov, "nesterov", "SGD")

    def _slot_spec(self):
        return (("velocity", 0.0),)  # the kernel always takes one; with momentum 0 it stays -lr g

    def _update(self, B, param, grad, slots, t, lr):
        B.sgd_update(param, grad, slots["velocity"], lr, self.momentum, self.nesterov)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba) as Keras computes it.

    ``m += (g - m)(1 - b1)``; ``v += (g² - v)(1 - b2)``; ``p -= lr sqrt(1 - b2^t)/(1 - b1^t) · m/(sqrt(v) + eps)``
    (Keras puts eps outside the bias correction of ``v``, unlike the paper and torch). ``amsgrad`` keeps
    the running maximum of ``v`` and uses it in place of ``v``.
    """

    name = "Adam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        cls = type(self).__name__
        self.beta_1 = _check_range(beta_1, "beta_1", cls, 0.0, 1.0, hi_open=True)
        self.beta_2 = _check_range(beta_2, "beta_2", cls, 0.0, 1.0, hi_open=True)
        self.epsilon = _check_eps(epsilon, cls)
        self.amsgrad = _check_bool(amsgrad, "amsgrad", cls)

    def _slot_spec(self):
        return (("m", 0.0), ("v", 0.0)) + ((("vhat", 0.0),) if self.amsgrad else ())

    def _needs_reference(self):
        return self.amsgrad

    def _update(self, B, param, grad, slots, t, lr):
        if self.amsgrad:
            reference.adam_update(param, grad, slots["m"], slots["v"], slots["vhat"], lr, self.beta_1, self.beta_2,
                                  self.epsilon, t)
        else:
            B.adam_update(param, grad, slots["m"], slots["v"], lr, self.beta_1, self.beta_2, self.epsilon, t)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p -= p · weight_decay · lr`` before each
    Adam update, as Keras 3 (default ``weight_decay=0.004``)."""

    name = "AdamW"

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number >= 0, got None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """RMSprop as in Keras 3: ``ms = rho ms + (1 - rho) g²``; ``p -= lr g / sqrt(ms + eps)``.

    ``centered`` also tracks ``mg = rho mg + (1 - rho) g`` and divides by ``sqrt(ms - mg² + eps)``;
    ``momentum > 0`` accumulates the increments, ``mom = momentum mom + inc; p -= mom``. (Keras 2 and torch
    put eps outside the root: ``sqrt(ms) + eps``.)
    """

    name = "RMSprop"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_range(rho, "rho", "RMSprop", 0.0, 1.0, hi_open=True)
        self.momentum = _check_range(momentum, "momentum", "RMSprop", 0.0, 1.0, hi_open=True)
        self.epsilon = _check_eps(epsilon, "RMSprop")
        self.centered = _check_bool(centered, "centered", "RMSprop")

    def _slot_spec(self):
        spec = (("velocity", 0.0),)
        if self.momentum > 0:
            spec += (("momentum", 0.0),)
        if self.centered:
            spec += (("average_gradient", 0.0),)
        return spec

    def _needs_reference(self):
        return self.momentum > 0 or self.centered  # the kernel covers the plain (default) form

    def _update(self, B, param, grad, slots, t, lr):
        if not self._needs_reference():
            B.rmsprop_update(param, grad, slots["velocity"], lr, self.rho, self.epsilon)
            return
        reference.rmsprop_update(param, grad, slots["velocity"], slots.get("momentum"), slots.get("average_gradient"),
                                 lr, self.rho, self.momentum, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012) with Keras's learning rate (Keras 3 default 0.001; 1.0 is the paper's form).

    ``Eg = rho Eg + (1 - rho) g²``; ``d = -sqrt(Ed + eps) g / sqrt(Eg + eps)``; ``Ed = rho Ed + (1 - rho) d²``;
    ``p += lr d``.
    """

    name = "Adadelta"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho = _check_range(rho, "rho", "Adadelta", 0.0, 1.0, hi_open=True)
        self.epsilon = _check_eps(epsilon, "Adadelta")

    def _slot_spec(self):
        return (("accumulated_grad", 0.0), ("accumulated_delta_var", 0.0))

    def _update(self, B, param, grad, slots, t, lr):
        B.adadelta_update(param, grad, slots["accumulated_grad"], slots["accumulated_delta_var"], lr, self.rho,
                          self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): ``acc += g²``; ``p -= lr g / sqrt(acc + eps)``, ``acc`` starting at
    ``initial_accumulator_value`` (>= 0)."""

    name = "Adagrad"

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _check_range(initial_accumulator_value, "initial_accumulator_value",
                                                      "Adagrad", 0.0, float("inf"), hi_open=True)
        self.epsilon = _check_eps(epsilon, "Adagrad")

    def _slot_spec(self):
        return (("accumulator", self.initial_accumulator_value),)

    def _update(self, B, param, grad, slots, t, lr):
        B.adagrad_update(param, grad, slots["accumulator"], lr, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nadam (Dozat 2015), Keras's formula with the momentum cache ``u_t = b1 (1 - 0.5 · 0.96^t)``.

    ``m += (g - m)(1 - b1)``; ``v += (g² - v)(1 - b2)``;
    ``m_hat = u_{t+1} m / (1 - Π_{i<=t+1} u_i) + (1 - u_t) g / (1 - Π_{i<=t} u_i)``; ``v_hat = v / (1 - b2^t)``;
    ``p -= lr m_hat / (sqrt(v_hat) + eps)``. The product ``Π u_i`` is a function of ``t`` alone, so it is
    recomputed after :meth:`set_state` instead of being stored.
    """

    name = "Nadam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _check_range(beta_1, "beta_1", "Nadam", 0.0, 1.0, hi_open=True)
        self.beta_2 = _check_range(beta_2, "beta_2", "Nadam", 0.0, 1.0, hi_open=True)
        self.epsilon = _check_eps(epsilon, "Nadam")
        self._u_cache = (0, 1.0)  # (t, Π_{i<=t} u_i)

    def _slot_spec(self):
        return (("momentum", 0.0), ("velocity", 0.0))

    def _u(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _u_product(self, t: int) -> float:
        done, prod = self._u_cache
        if done > t:
            done, prod = 0, 1.0
        for i in range(done + 1, t + 1):
            prod *= self._u(i)
        self._u_cache = (t, prod)
        return prod

    def coefficients(self, t: int) -> tuple[float, float, float]:
        """``(m_coef, g_coef, v_coef)`` of step ``t`` (see :func:`minidl.optimizers.reference.nadam_update`)."""
        u_t, u_next = self._u(t), self._u(t + 1)
        prod_t = self._u_product(t)
        prod_next = prod_t * u_next
        return u_next / (1 - prod_next), (1 - u_t) / (1 - prod_t), 1.0 / (1 - self.beta_2 ** t)

    def _update(self, B, param, grad, slots, t, lr):
        m_coef, g_coef, v_coef = self.coefficients(t)
        B.nadam_update(param, grad, slots["momentum"], slots["velocity"], lr, self.beta_1, self.beta_2, self.epsilon,
                       m_coef, g_coef, v_coef)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
