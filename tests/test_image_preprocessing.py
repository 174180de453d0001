"""ImageDataGenerator on hand-made images: where a shifted / flipped / rotated / zoomed square lands."""
import numpy as np
import pytest

import minidl
from minidl import layers
from minidl.preprocessing.image import ImageDataGenerator, apply_affine_transform


def square():
    img = np.zeros((9, 9, 1), dtype=np.float32)
    img[1:4, 4:7, 0] = 1.0          # rows 1-3, columns 4-6: off centre, so every move is visible
    return img


def gen(**kw):
    return ImageDataGenerator(fill_mode="constant", cval=0.0, **kw)


def test_shifts_move_the_square_by_whole_pixels():
    img = square()
    out = gen().apply_transform(img, {"tx": 2})           # Keras 3: tx moves the content 2 columns left
    want = np.zeros_like(img)
    want[1:4, 2:5, 0] = 1
    np.testing.assert_allclose(out, want, atol=1e-6)
    out = gen().apply_transform(img, {"ty": -3})          # ty = -3: 3 rows down
    want = np.zeros_like(img)
    want[4:7, 4:7, 0] = 1
    np.testing.assert_allclose(out, want, atol=1e-6)


def test_flips():
    img = square()
    np.testing.assert_array_equal(gen().apply_transform(img, {"flip_horizontal": True})[1:4, 2:5, 0], 1)
    np.testing.assert_array_equal(gen().apply_transform(img, {"flip_vertical": True})[5:8, 4:7, 0], 1)
    g = gen(horizontal_flip=True, seed=0)
    batch = next(iter(g.flow(np.repeat(img[None], 40, 0), batch_size=40, shuffle=False)))
    flipped = [bool(np.all(b[1:4, 2:5, 0] == 1)) for b in batch]
    kept = [bool(np.all(b[1:4, 4:7, 0] == 1)) for b in batch]
    assert all(f != k for f, k in zip(flipped, kept)) and 5 < sum(flipped) < 35


def test_rotation_by_90_degrees_about_the_centre():
    img = square()
    np.testing.assert_allclose(apply_affine_transform(img, theta=90, fill_mode="constant"),
                               np.rot90(img), atol=1e-6)      # counter-clockwise about pixel (4, 4)


def test_zoom_factor_2_samples_twice_as_far_from_the_centre():
    img = np.zeros((9, 9, 1), dtype=np.float32)
    img[4, 6, 0] = 1.0      # two columns right of the centre
    img[4, 4, 0] = 5.0
    out = apply_affine_transform(img, zx=2, zy=2, fill_mode="constant")
    assert out[4, 4, 0] == pytest.approx(5.0) and out[4, 5, 0] == pytest.approx(1.0)
    assert out.sum() == pytest.approx(6.0)


def test_random_parameters_stay_in_their_ranges():
    g = ImageDataGenerator(rotation_range=15, width_shift_range=0.1, height_shift_range=3, shear_range=5,
                           zoom_range=[0.9, 1.2], seed=1)
    ps = [g.get_random_transform((20, 30, 1)) for _ in range(300)]
    th = np.array([p["theta"] for p in ps])
    assert th.min() >= -15 and th.max() <= 15 and th.std() > 5
    ty = np.array([p["ty"] for p in ps])
    assert np.abs(ty).max() <= 0.1 * 30 and ty.std() > 0.5
    tx = np.array([p["tx"] for p in ps])
    assert set(np.unique(tx)) <= set(range(-3, 4)) and len(np.unique(tx)) >= 5
    z = np.array([[p["zx"], p["zy"]] for p in ps])
    assert z.min() >= 0.9 and z.max() <= 1.2


def test_flow_rescales_keeps_labels_and_trains():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (10, 6, 6, 1)).astype("float32")
    y = np.arange(10)
    it = ImageDataGenerator(rescale=1 / 255).flow(x, y, batch_size=4, shuffle=False)
    assert len(it) == 3
    xb, yb = it[2]
    np.testing.assert_allclose(xb, x[8:] / 255, rtol=1e-6)
    np.testing.assert_array_equal(yb, [8, 9])
    a = ImageDataGenerator(rotation_range=20).flow(x, y, batch_size=5, seed=3)
    b = ImageDataGenerator(rotation_range=20).flow(x, y, batch_size=5, seed=3)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[0][1], b[0][1])
    minidl.utils.set_random_seed(0)
    model = minidl.Sequential([layers.Input((6, 6, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(ImageDataGenerator(rescale=1 / 255, width_shift_range=0.1).flow(x, y, batch_size=5), epochs=2,
                     verbose=0)
    assert len(hist.history["loss"]) == 2


@pytest.mark.parametrize("kw, match", [
    ({"rotation_range": -1}, "rotation_range"), ({"zoom_range": [1.2, 0.9]}, "zoom_range"),
    ({"fill_mode": "mirror"}, "fill_mode"), ({"horizontal_flip": "yes"}, "horizontal_flip"),
    ({"rescale": "1/255"}, "rescale"), ({"width_shift_range": [[1]]}, "width_shift_range"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        ImageDataGenerator(**kw)


def test_bad_flow_inputs():
    g = ImageDataGenerator()
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        g.flow(np.zeros((4, 6, 6)))
    with pytest.raises(ValueError, match="different lengths"):
        g.flow(np.zeros((4, 6, 6, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="batch_size"):
        g.flow(np.zeros((4, 6, 6, 1)), batch_size=0)
