"""Image augmentation as ``keras.preprocessing.image.ImageDataGenerator`` does it, on scipy.ndimage.

Each image gets one random affine transform (rotation, shift, shear, zoom composed into one matrix about
the image centre, applied with ``scipy.ndimage.affine_transform`` per channel, bilinear, ``fill_mode``
outside), then the random flips, then ``rescale``: the order and conventions of Keras's
``random_transform`` / ``apply_affine_transform`` / ``standardize``. Images are (H, W, C), batches
(N, H, W, C).

::

    datagen = ImageDataGenerator(rotation_range=10, width_shift_range=0.1, horizontal_flip=True,
                                 rescale=1 / 255)
    model.fit(datagen.flow(x_train, y_train, batch_size=32), epochs=10)

The transform of one image, as Keras 3 builds it (``theta`` rotation in degrees, ``tx``/``ty`` shifts in
pixels, ``shear`` in degrees, ``zx``/``zy`` zoom): ``M = R(theta) · T(tx, ty) · S(shear) · Z(zx, zy)`` in
(x, y) = (column, row) coordinates, re-centred as ``C · M · C⁻¹`` about the centre pixel
``((H - 1)/2, (W - 1)/2)`` and swapped to the array's (row, column) order; the output pixel at ``o`` samples
the input at ``M o + offset``. So a positive ``tx`` moves the content ``tx`` columns to the left and a
positive ``ty`` ``ty`` rows up. (Keras 3 draws ``tx`` from ``height_shift_range`` scaled by the height and
``ty`` from ``width_shift_range`` scaled by the width; minidl does the same, so square images behave as in
Keras and shifts keep Keras's direction.)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

from ..random import get_rng
from ..utils import PyDataset

__all__ = ["ImageDataGenerator", "NumpyArrayIterator", "apply_affine_transform", "transform_matrix_offset_center"]

_FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def transform_matrix_offset_center(matrix: np.ndarray, x: int, y: int) -> np.ndarray:
    """``matrix`` moved to act about the centre of an ``x`` by ``y`` image (Keras's helper)."""
    o_x, o_y = float(x) / 2 - 0.5, float(y) / 2 - 0.5  # the centre pixel (Keras 3; Keras 2 had + 0.5)
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return offset @ matrix @ reset


def apply_affine_transform(x: np.ndarray, theta: float = 0, tx: float = 0, ty: float = 0, shear: float = 0,
                           zx: float = 1, zy: float = 1, fill_mode: str = "nearest", cval: float = 0.0,
                           order: int = 1) -> np.ndarray:
    """One (H, W, C) image through Keras's affine transform (angles in degrees, shifts in pixels).

    Returns:
        A new array of the same shape and dtype (the input itself when the transform is the identity).
    """
    matrices = []
    if theta != 0:
        t = math.radians(theta)
        matrices.append(np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        matrices.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=float))
    if shear != 0:
        s = math.radians(shear)
        matrices.append(np.array([[1, -math.sin(s), 0], [0, math.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        matrices.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]], dtype=float))
    if not matrices:
        return x
    m = matrices[0]
    for other in matrices[1:]:
        m = m @ other
    m = transform_matrix_offset_center(m, x.shape[0], x.shape[1])
    # Keras 3 builds the matrix in (x, y) order and swaps to the array's (row, col): M' = P M P.
    m[:, [0, 1]] = m[:, [1, 0]]
    m[[0, 1]] = m[[1, 0]]
    out = np.empty_like(x)
    for c in range(x.shape[2]):
        out[:, :, c] = ndimage.affine_transform(x[:, :, c], m[:2, :2], m[:2, 2], order=order, mode=fill_mode,
                                                cval=cval)
    return out


def _range(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)) or value < 0:
        raise ValueError(f"ImageDataGenerator: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _shift(value: Any, name: str) -> Any:
    """A shift range: a float (< 1: fraction of the size, else pixels), an int (pixels, integer choice) or
    a list of allowed values."""
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=float)
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"ImageDataGenerator: {name} must be a number or a non-empty list of numbers, "
                             f"got {value!r}")
        return arr
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
        return np.arange(-int(value), int(value) + 1, dtype=float)
    return _range(value, name)


class ImageDataGenerator:
    """Random augmentation of image batches, Keras's arguments and semantics.

    Args:
        rotation_range: degrees; angles drawn from U(-r, r).
        width_shift_range, height_shift_range: float (a fraction of the width / height when < 1, else
            pixels) drawn from U(-r, r); an int n draws whole pixels from -n..n; a list draws one of its values.
        shear_range: shear angle in degrees, U(-r, r).
        zoom_range: a float z (zoom factors from U(1 - z, 1 + z), per axis) or a pair [lo, hi].
        horizontal_flip, vertical_flip: flip with probability 1/2.
        fill_mode: 'nearest', 'constant', 'reflect' or 'wrap' for points outside the image.
        cval: value outside the image for fill_mode='constant'.
        rescale: multiply every value by this after the transforms (None or 0: no rescaling).
        seed: seed of the transforms (and of the order, unless ``flow`` gets its own); None draws from
            minidl's global generator (``minidl.utils.set_random_seed``).
        dtype: dtype of the produced images (default float32).
    """

    def __init__(self, rotation_range: float = 0, width_shift_range: Any = 0.0, height_shift_range: Any = 0.0,
                 shear_range: float = 0.0, zoom_range: Any = 0.0, fill_mode: str = "nearest", cval: float = 0.0,
                 horizontal_flip: bool = False, vertical_flip: bool = False, rescale: float | None = None,
                 seed: int | None = None, dtype: Any = "float32") -> None:
        self.rotation_range = _range(rotation_range, "rotation_range")
        self.width_shift_range = _shift(width_shift_range, "width_shift_range")
        self.height_shift_range = _shift(height_shift_range, "height_shift_range")
        self.shear_range = _range(shear_range, "shear_range")
        if isinstance(zoom_range, (list, tuple, np.ndarray)):
            if len(zoom_range) != 2:
                raise ValueError(f"ImageDataGenerator: zoom_range must be a float or a pair [lo, hi], got {zoom_range!r}")
            lo, hi = (_range(z, "zoom_range") for z in zoom_range)
        else:
            z = _range(zoom_range, "zoom_range")
            lo, hi = 1 - z, 1 + z
        if lo <= 0 or hi < lo:
            raise ValueError(f"ImageDataGenerator: zoom_range must give factors 0 < lo <= hi, got {zoom_range!r}")
        self.zoom_range = (lo, hi)
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of {', '.join(_FILL_MODES)}, got {fill_mode!r}")
        self.fill_mode = fill_mode
        if isinstance(cval, bool) or not isinstance(cval, (int, float, np.number)) or not math.isfinite(cval):
            raise ValueError(f"ImageDataGenerator: cval must be a finite number, got {cval!r}")
        self.cval = float(cval)
        for name, v in (("horizontal_flip", horizontal_flip), ("vertical_flip", vertical_flip)):
            if not isinstance(v, (bool, np.bool_)):
                raise ValueError(f"ImageDataGenerator: {name} must be True or False, got {v!r}")
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        if rescale is not None and (isinstance(rescale, bool) or not isinstance(rescale, (int, float, np.number))
                                    or not math.isfinite(rescale)):
            raise ValueError(f"ImageDataGenerator: rescale must be a finite number or None, got {rescale!r}")
        self.rescale = rescale
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"ImageDataGenerator: seed must be a non-negative integer or None, got {seed!r}")
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self._rng = np.random.default_rng(seed) if seed is not None else None

    # ------------------------------------------------------------------ one image
    @staticmethod
    def _draw_shift(r: Any, size: int, rng: np.random.Generator) -> float:
        if isinstance(r, np.ndarray):  # Keras: a value of the list, with a random sign
            value = float(rng.choice(r)) * float(rng.choice([-1, 1]))
            big = np.max(r) >= 1
        else:
            if not r:
                return 0.0
            value = float(rng.uniform(-r, r))
            big = r >= 1
        return value if big else value * size

    def get_random_transform(self, img_shape: tuple, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """The random parameters for one image of shape (H, W, C), as Keras's dict."""
        rng = rng or self._rng or get_rng()
        theta = float(rng.uniform(-self.rotation_range, self.rotation_range)) if self.rotation_range else 0.0
        tx = self._draw_shift(self.height_shift_range, img_shape[0], rng)
        ty = self._draw_shift(self.width_shift_range, img_shape[1], rng)
        shear = float(rng.uniform(-self.shear_range, self.shear_range)) if self.shear_range else 0.0
        lo, hi = self.zoom_range
        zx, zy = (1.0, 1.0) if lo == 1 and hi == 1 else (float(v) for v in rng.uniform(lo, hi, 2))
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": bool(self.horizontal_flip and rng.random() < 0.5),
                "flip_vertical": bool(self.vertical_flip and rng.random() < 0.5)}

    def apply_transform(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        """One (H, W, C) image through the given parameters (affine, then flips)."""
        x = apply_affine_transform(x, params.get("theta", 0), params.get("tx", 0), params.get("ty", 0),
                                   params.get("shear", 0), params.get("zx", 1), params.get("zy", 1),
                                   fill_mode=self.fill_mode, cval=self.cval)
        if params.get("flip_horizontal"):
            x = x[:, ::-1, :]
        if params.get("flip_vertical"):
            x = x[::-1, :, :]
        return np.ascontiguousarray(x)

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One (H, W, C) image, randomly transformed (``seed`` fixes this draw)."""
        rng = np.random.default_rng(seed) if seed is not None else None
        return self.apply_transform(x, self.get_random_transform(x.shape, rng))

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """``rescale`` (in place on a float copy the caller owns)."""
        if self.rescale:
            x *= self.rescale
        return x

    def flow(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True,
             seed: int | None = None) -> "NumpyArrayIterator":
        """Batches of augmented images from arrays (a :class:`~minidl.utils.PyDataset`, so ``fit`` takes it)."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, seed=seed)


class NumpyArrayIterator(PyDataset):
    """``len()`` batches per epoch of ``(augmented x, y)`` (or augmented x alone without ``y``); a new
    order each epoch when ``shuffle``. Iterating with ``next()`` cycles forever, as Keras's iterators.

    Raises:
        ValueError: for x that is not (N, H, W, C), a y of another length, or bad batch_size / seed.
    """

    def __init__(self, x: Any, y: Any, generator: ImageDataGenerator, batch_size: int = 32, shuffle: bool = True,
                 seed: int | None = None) -> None:
        super().__init__()
        x = np.asarray(x)
        if x.ndim != 4 or x.dtype.kind not in "biuf":
            raise ValueError(f"ImageDataGenerator.flow: x must be a numeric array (N, H, W, C), got shape {x.shape} "
                             f"dtype {x.dtype}")
        if len(x) == 0:
            raise ValueError("ImageDataGenerator.flow: x is empty")
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(x):
                raise ValueError(f"ImageDataGenerator.flow: x and y have different lengths ({len(x)} and {len(y)})")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"ImageDataGenerator.flow: batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"ImageDataGenerator.flow: shuffle must be True or False, got {shuffle!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"ImageDataGenerator.flow: seed must be a non-negative integer or None, got {seed!r}")
        self.x, self.y, self.generator = x, y, generator
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
        self._rng = (np.random.default_rng(seed) if seed is not None else generator._rng) or get_rng()
        self._order = self._new_order()
        self._next = 0

    def _new_order(self) -> np.ndarray:
        return self._rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range (0..{len(self) - 1})")
        idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        out = np.empty((len(idx), *self.x.shape[1:]), dtype=self.generator.dtype)
        for k, i in enumerate(idx):
            img = self.x[i].astype(self.generator.dtype)
            img = self.generator.apply_transform(img, self.generator.get_random_transform(img.shape, self._rng))
            out[k] = self.generator.standardize(img)
        return out if self.y is None else (out, self.y[idx])

    def on_epoch_end(self) -> None:
        self._order = self._new_order()

    def __iter__(self) -> "NumpyArrayIterator":
        return self

    def __next__(self) -> Any:
        if self._next >= len(self):
            self._next = 0
            self.on_epoch_end()
        batch = self[self._next]
        self._next += 1
        return batch
