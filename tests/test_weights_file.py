"""save_weights / load_weights, and Keras-only formats refused with a clear error."""
import numpy as np
import pytest

import minidl
from minidl import layers


def model(seed=0):
    minidl.utils.set_random_seed(seed)
    m = minidl.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    m.compile("adam", "mse")
    return m


def test_roundtrip_and_from_a_full_model_file(tmp_path):
    a, b = model(0), model(1)
    a.save_weights(tmp_path / "w.npz")
    b.load_weights(tmp_path / "w.npz")
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    a.save(tmp_path / "m.npz")
    c = model(2)
    c.load_weights(tmp_path / "m.npz")
    for x, y in zip(a.get_weights(), c.get_weights()):
        np.testing.assert_array_equal(x, y)
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []
    with pytest.raises(ValueError, match="overwrite=False"):
        a.save_weights(tmp_path / "w.npz", overwrite=False)


@pytest.mark.parametrize("name", ["m.h5", "m.keras", "m.weights.h5", "M.HDF5"])
def test_keras_formats_refused(tmp_path, name):
    m = model()
    for call in (m.save, m.save_weights, m.load_weights, minidl.load_model):
        with pytest.raises(ValueError, match=r"minidl's format is a NumPy \.npz file"):
            call(tmp_path / name) if call is not minidl.load_model else call(str(tmp_path / name))
    assert list(tmp_path.iterdir()) == []


def test_mismatched_files_change_nothing(tmp_path):
    small = model()
    other = minidl.Sequential([layers.Input((3,)), layers.Dense(5), layers.Dense(2)])
    other.save_weights(tmp_path / "other.npz")
    before = small.get_weights()
    with pytest.raises(ValueError, match="has shape"):
        small.load_weights(tmp_path / "other.npz")
    ws = [w.copy() for w in before]
    ws[3] = ws[3] * np.nan
    np.savez(tmp_path / "nan.npz", **{f"weight_{i:04d}": w for i, w in enumerate(ws)})
    with pytest.raises(ValueError, match="non-finite"):
        small.load_weights(tmp_path / "nan.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a minidl .npz"):
        small.load_weights(tmp_path / "junk.npz")
    for x, y in zip(before, small.get_weights()):
        np.testing.assert_array_equal(x, y)
