"""The optimizer base class: argument checks, learning rate (number or schedule), clipping, weight decay,
slots, the step counter, config and state.

Life cycle::

    opt = minidl.optimizers.get("adam")          # or Adam(learning_rate=1e-3)
    loss.backward()
    opt.apply_gradients(params)                  # p.data updated in place from p.grad; grads left as they are
    opt.apply_gradients([(g, p), ...])           # Keras's form: explicit (gradient, variable) pairs

One step, in Keras 3's order: the learning rate of the step is read (a schedule is called with the number
of steps done so far, 0 for the first); gradients are clipped (``clipnorm`` per tensor, ``global_clipnorm``
over all, or ``clipvalue``, at most one of them); ``weight_decay`` shrinks each parameter,
``p -= p · weight_decay · lr``; each parameter is updated by its rule (one kernel call per parameter
where a kernel exists, see :mod:`minidl.optimizers.reference` otherwise); ``iterations`` grows by one.

A step is atomic: every gradient is checked (shape, dtype, contiguity, device support) and the learning rate
computed before anything changes, and Ctrl-C during the updates is held back until they are all applied
(in the main thread), so a step is applied to every parameter or to none.
"""
from __future__ import annotations

import math
import weakref
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import kernel_table
from .._step import deferred_sigint
from ..autograd import Tensor
from . import reference
from .schedules import LearningRateSchedule, deserialize as deserialize_schedule, serialize as serialize_schedule

__all__ = ["Optimizer"]


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


def _check_positive(value: Any, name: str, cls: str) -> float:
    v = _number(value, name, cls)
    if v <= 0:
        raise ValueError(f"{cls}: {name} must be > 0, got {v!r}")
    return v


def _check_eps(value: Any, cls: str) -> float:
    # epsilon = 0 divides 0 by 0 wherever a gradient is 0: NaN weights. Keras does not check; minidl does.
    return _check_positive(value, "epsilon", cls)


def _check_bool(value: Any, name: str, cls: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{cls}: {name} must be a bool, got {value!r}")
    return bool(value)


def _optional_positive(value: Any, name: str, cls: str) -> float | None:
    return None if value is None else _check_positive(value, name, cls)


def _to_host(a: Any) -> np.ndarray:
    return np.array(a) if isinstance(a, np.ndarray) else np.asarray(a.copy_to_host())


_LEGACY = {
    "lr": "`lr` is the Keras 2 name of the learning rate; Keras 3 and minidl call it `learning_rate`: "
          "{cls}(learning_rate={value!r})",
    "decay": "`decay` (Keras 2's lr / (1 + decay · iterations)) was removed in Keras 3; pass a schedule instead: "
             "{cls}(learning_rate=minidl.optimizers.schedules.InverseTimeDecay(initial_learning_rate, "
             "decay_steps=1, decay_rate={value!r}))",
}
_SUPPORTED_COMMON = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")


# ---------------------------------------------------------------------------------------------------- base
class Optimizer:
    """Base class; subclasses define ``name``, :meth:`_slot_spec` and :meth:`_update`.

    Args:
        learning_rate: a number > 0, a :class:`~minidl.optimizers.schedules.LearningRateSchedule`, or a
            callable with no arguments returning the rate.
        weight_decay: decoupled decay ``p -= p · weight_decay · lr`` before each update (None for none).
        clipnorm: clip each gradient to this L2 norm. global_clipnorm: clip all gradients together to this
            global norm. clipvalue: clip each gradient element to [-clipvalue, clipvalue]. At most one.

    Attributes:
        learning_rate: the current step's rate (read-only while a schedule drives it).
        iterations: number of steps applied so far.

    Raises:
        TypeError: for Keras-2-only arguments (``lr``, ``decay``, saying what replaces them) or unknown ones.
        ValueError: for out-of-range values, naming the argument.
    """

    name: str = "optimizer"

    def __init__(self, learning_rate: Any, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, **kwargs: Any) -> None:
        cls = type(self).__name__
        self._reject_kwargs(kwargs)
        self._learning_rate: Any = None
        self.learning_rate = learning_rate
        self.weight_decay = None if weight_decay is None else _check_range(weight_decay, "weight_decay", cls, 0.0,
                                                                            math.inf, hi_open=True)
        self.clipnorm = _optional_positive(clipnorm, "clipnorm", cls)
        self.clipvalue = _optional_positive(clipvalue, "clipvalue", cls)
        self.global_clipnorm = _optional_positive(global_clipnorm, "global_clipnorm", cls)
        if sum(c is not None for c in (self.clipnorm, self.clipvalue, self.global_clipnorm)) > 1:
            raise ValueError(f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can be set; got "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        self.iterations: int = 0
        # id(param) -> (weak reference to param, {slot name: array}). Weak, so that an optimizer reused for
        # several models does not keep the old models' parameters and slots alive: a finalizer drops the
        # entry when its parameter dies, before its id can be reused by a new object.
        self._slots: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}

    def _reject_kwargs(self, kwargs: dict[str, Any]) -> None:
        cls = type(self).__name__
        for key in ("lr", "decay"):
            if key in kwargs:
                raise TypeError(f"{cls}: " + _LEGACY[key].format(cls=cls, value=kwargs[key]))
        if kwargs:
            raise TypeError(f"{cls}: unexpected keyword argument(s) {', '.join(sorted(kwargs))}; "
                            f"supported besides the algorithm's own: learning_rate, {', '.join(_SUPPORTED_COMMON)}")

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at ``iterations``)."""
        return self._current_lr()

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        cls = type(self).__name__
        if isinstance(value, LearningRateSchedule) or (callable(value) and not isinstance(value, (int, float))):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(f"{cls}: this optimizer's learning rate is a {type(self._learning_rate).__name__} "
                            "schedule, so it cannot be set to a number; create the optimizer with a float "
                            "learning_rate to change it during training")
        self._learning_rate = _check_lr(value, cls)

    @property
    def learning_rate_schedule(self) -> Any:
        """The schedule or callable driving the learning rate, or None when it is a number."""
        return None if isinstance(self._learning_rate, float) else self._learning_rate

    def _current_lr(self) -> float:
        lr = self._learning_rate
        if isinstance(lr, float):
            return lr
        value = lr(self.iterations) if isinstance(lr, LearningRateSchedule) else lr()
        try:
            value = float(np.asarray(value).reshape(()))
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: the learning rate schedule {lr!r} returned {value!r}, "
                             "not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{type(self).__name__}: the learning rate schedule {lr!r} returned {value!r} at "
                             f"step {self.iterations}; it must be finite and >= 0")
        return value

    # ------------------------------------------------------------------ slots
    def _slot_spec(self) -> tuple[tuple[str, float], ...]:
        """(slot name, initial value) of each per-parameter slot array, in state order."""
        return ()

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._slot_spec())

    def _get_slots(self, p: Tensor) -> dict[str, Any]:
        entry = self._slots.get(id(p))
        if entry is None or entry[0]() is not p:
            B = kernel_table.of(p.data)
            slots = {}
            for s, init in self._slot_spec():
                arr = B.zeros(p.data.shape, dtype=p.data.dtype)
                if init:
                    if isinstance(arr, np.ndarray):
                        arr[...] = init
                    else:
                        arr.copy_to_device(np.full(p.data.shape, init, dtype=p.data.dtype))
                slots[s] = arr
            entry = self._slots[id(p)] = (weakref.ref(p), slots)
            weakref.finalize(p, self._slots.pop, id(p), None)
        return entry[1]

    # ------------------------------------------------------------------ stepping
    def _needs_reference(self) -> bool:
        """True when this configuration has no kernel: the NumPy reference runs (CPU only)."""
        return False

    def _check_pair(self, p: Any, g: Any, i: int) -> Any:
        cls = type(self).__name__
        if not isinstance(p, Tensor):
            raise TypeError(f"{cls}.apply_gradients: item {i} must be a Tensor (or a (gradient, Tensor) pair), "
                            f"got {type(p).__name__}")
        on_host = isinstance(p.data, np.ndarray)
        if on_host:
            if not p.data.flags.c_contiguous:
                raise ValueError(f"{cls}: parameter {p.name or i} must be C-contiguous to be updated in place")
            if p.data.dtype.kind != "f":
                raise TypeError(f"{cls}: parameter {p.name or i} has dtype {p.data.dtype}; only float parameters "
                                "can be trained")
            g = np.asarray(g)
            if g.dtype.kind not in "biuf":
                raise TypeError(f"{cls}: the gradient of {p.name or i} has dtype {g.dtype}; it must be real")
            if g.shape != p.data.shape:
                raise ValueError(f"{cls}: gradient shape {g.shape} differs from parameter shape {p.data.shape} "
                                 f"({p.name or i})")
            # The kernels want C-contiguous arrays of the parameter's dtype (no-op when already so).
            return np.ascontiguousarray(g, dtype=p.data.dtype)
        needs = self._needs_reference() or self.clipnorm is not None or self.clipvalue is not None \
            or self.global_clipnorm is not None
        if needs:
            raise NotImplementedError(
                f"{cls}: this configuration ({self._describe()}) has no CUDA kernel yet; it runs on the CPU "
                "only (model.to('cpu')); on 'cuda' use SGD, Adam, AdamW, RMSprop (plain), Adagrad, Adadelta or Nadam "
                "without clipping")
        if tuple(g.shape) != tuple(p.data.shape):
            raise ValueError(f"{cls}: gradient shape {tuple(g.shape)} differs from parameter shape "
                             f"{tuple(p.data.shape)} ({p.name or i})")
        return g

    def _describe(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name" and v not in (None, False))

    def _pairs(self, items: Iterable[Any]) -> list[tuple[Tensor, Any]]:
        out = []
        for i, item in enumerate(items):
            if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], Tensor):
                g, p = item
            else:
                p, g = item, getattr(item, "grad", None)
            if g is not None:
                out.append((p, self._check_pair(p, g, i)))
            elif not isinstance(p, Tensor):
                self._check_pair(p, None, i)
        return out

    def _clip(self, grads: list[Any]) -> list[Any]:
        if self.clipnorm is not None:
            return [reference.clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            return reference.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def apply_gradients(self, params: Iterable[Any]) -> int:
        """One optimisation step on every parameter that has a gradient.

        Args:
            params: tensors whose ``.grad`` (same shape as ``.data``) drives the update, or Keras-style
                ``(gradient, tensor)`` pairs; entries whose gradient is None are skipped (no slots made).

        Returns:
            ``iterations`` after the step.

        Raises:
            ValueError / TypeError: for a bad gradient or parameter, before anything changed.
            NotImplementedError: for a configuration without a kernel on the parameters' device.
        """
        pairs = self._pairs(params)
        lr = self._current_lr()
        t = self.iterations + 1
        grads = self._clip([g for _, g in pairs])
        with deferred_sigint():  # the update of every parameter is whole or absent against Ctrl-C
            for (p, _), g in zip(pairs, grads):
                slots = self._get_slots(p)
                if self.weight_decay is not None:
                    kernel_table.of(p.data).weight_decay_update(p.data, lr, self.weight_decay)
                self._update(kernel_table.of(p.data), p.data, g, slots, t, lr)
            self.iterations = t
        return self.iterations

    def _update(self, B: Any, param: Any, grad: Any, slots: dict[str, Any], t: int,
                lr: float) -> None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ config / state
    def get_config(self) -> dict[str, Any]:
        """JSON-able hyper-parameters, including ``'name'``; ``type(opt).from_config(cfg)`` rebuilds it.

        Raises:
            TypeError: when the learning rate is a plain callable (it cannot be written down; subclass
                :class:`~minidl.optimizers.schedules.LearningRateSchedule` instead).
        """
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr_cfg: Any = serialize_schedule(lr)
        elif isinstance(lr, float):
            lr_cfg = lr
        else:
            raise TypeError(f"{type(self).__name__}: a learning_rate callable ({lr!r}) cannot be saved; use a "
                            "minidl.optimizers.schedules.LearningRateSchedule subclass with get_config()")
        return {"name": self.name, "learning_rate": lr_cfg, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Optimizer":
        cfg = {k: v for k, v in config.items() if k != "name"}
        if isinstance(cfg.get("learning_rate"), dict):
            cfg["learning_rate"] = deserialize_schedule(cfg["learning_rate"])
        return cls(**cfg)

    def get_state(self, params: Sequence[Tensor]) -> list[np.ndarray]:
        """The optimizer's state as host arrays: ``[iterations]`` then each parameter's slots in order.

        Parameters that have no slots yet contribute their fresh slots (zeros, or Adagrad's initial
        accumulator), so the layout depends only on ``params`` and the optimizer's configuration.
        """
        state = [np.array(self.iterations, dtype=np.int64)]
        for p in params:
            slots = self._get_slots(p)
            state.extend(_to_host(slots[s]) for s in self.slot_names)
        return state

    def set_state(self, params: Sequence[Tensor], state: Sequence[np.ndarray]) -> None:
        """Restores what :meth:`get_state` returned, so training continues exactly where it stopped.

        Everything is checked (count, iteration count, each slot's shape, real dtype and finiteness) before
        anything changes.
        """
        cls = type(self).__name__
        params = list(params)
        names = self.slot_names
        expected = 1 + len(names) * len(params)
        if len(state) != expected:
            raise ValueError(
                f"{cls}.set_state: expected {expected} arrays (iterations + "
                f"{len(names)} slot(s) x {len(params)} parameters), got {len(state)}"
            )
        it = np.asarray(state[0])
        if it.size != 1 or it.dtype.kind not in "iuf":
            raise ValueError(f"{cls}.set_state: the first array must be the iteration count, got shape {it.shape} "
                             f"dtype {it.dtype}")
        it_value = float(it.reshape(-1)[0])
        if not math.isfinite(it_value) or it_value < 0 or it_value != int(it_value):
            raise ValueError(f"{cls}.set_state: the iteration count must be a whole number >= 0, got {it_value}")
        checked = []
        k = 1
        for p in params:
            for s in names:
                arr = np.asarray(state[k])
                k += 1
                if arr.shape != tuple(p.data.shape):
                    raise ValueError(f"{cls}.set_state: slot {s!r} has shape {arr.shape}, parameter has "
                                     f"{tuple(p.data.shape)}")
                if arr.dtype.kind not in "iuf":
                    raise ValueError(f"{cls}.set_state: slot {s!r} has dtype {arr.dtype}; it must be real")
                if not np.all(np.isfinite(arr)):
                    raise ValueError(f"{cls}.set_state: slot {s!r} holds non-finite values")
                checked.append(np.ascontiguousarray(arr, dtype=p.data.dtype))
        k = 0
        for p in params:
            slots = self._get_slots(p)
            for s in names:
                arr = checked[k]
                k += 1
                if isinstance(slots[s], np.ndarray):
                    slots[s][...] = arr
                else:  # device array
                    slots[s].copy_to_device(arr)
        self.iterations = int(it_value)

    def __repr__(self) -> str:
        try:
            cfg = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        except TypeError:
            cfg = f"learning_rate={self._learning_rate!r}"
        return f"{type(self).__name__}({cfg})"
