"""Model files (issue #18): atomic, thread- and process-safe saves; loads that validate before allocating."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from minidl import _atomic
from minidl import layers as L
from minidl import models as M


def _model(seed_layers: bool = False):
    extra = [L.Dropout(0.5, seed=3), L.GaussianNoise(0.5, seed=4)] if seed_layers else []
    m = M.Sequential([L.Input((3,)), L.Dense(4, name="enc"), *extra, L.Dense(3, name="dec")])
    m.compile("adam", "mse")
    m.fit(np.ones((4, 3), np.float32), np.ones((4, 3), np.float32), verbose=0)
    return m


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("model") / "m.npz"
    _model().save(p)
    return p


def _craft(saved: Path, tmp_path: Path, header_fn=None, arrays_fn=None) -> Path:
    with np.load(saved) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(str(arrays["__minidl_model__"]))
    if header_fn:
        header_fn(header)
    if arrays_fn:
        arrays_fn(arrays)
    arrays["__minidl_model__"] = np.array(json.dumps(header))
    out = tmp_path / "crafted.npz"
    np.savez(out, **arrays)
    return out


def _set(key, fn):
    return lambda a: a.update({key: fn(a[key])})


def _units(h):
    h["config"]["layers"][1]["config"]["units"] = 10**10


@pytest.mark.parametrize("header_fn, arrays_fn, match", [
    (lambda h: h.update(version=99), None, r"unsupported format version 99 \(written by a newer minidl\?\)"),
    (lambda h: h.update(version="1"), None, r"format version must be an integer"),
    (lambda h: h.update(version=0), None, r"unsupported format version 0"),
    (None, _set("weight_0000", lambda w: w.astype(np.complex64)), r"weight 0 has dtype complex64"),
    (None, _set("weight_0001", lambda w: w.astype(np.int32)), r"weight 1 has dtype int32"),
    (None, _set("weight_0000", lambda w: np.where(w == w.flat[0], np.nan, w)), r"weight 0 .* contains NaN or Inf"),
    (None, _set("optimizer_0002", lambda w: w * np.inf), r"optimizer state array 1 .* contains NaN or Inf"),
    (None, _set("optimizer_0000", lambda w: np.array(-5)), r"iteration count must be one integer >= 0"),
    (None, _set("optimizer_0000", lambda w: np.array(1.5)), r"iteration count must be one integer >= 0"),
    (_units, None, r"weight 'kernel' of shape \(4, 10000000000\) .* exceeds what the model file holds"),
    (lambda h: h["config"]["layers"][1]["config"].update(name="enc"), None, r"layer names must be unique, \['enc'\]"),
    (lambda h: h.update(n_weights=-1), None, r"n_weights must be a non-negative integer"),
    (lambda h: h.update(n_weights=10**6), None, r"n_weights=1000000 but the file holds"),
    (lambda h: h.update(build_input_shape=[10**9, 10**9]), None, r"build_input_shape .* declares more than"),
    (lambda h: h.update(build_input_shape=["3"]), None, r"build_input_shape must be a list of positive integers"),
    (lambda h: h["config"]["layers"][0]["config"].update(units="4"), None, r"cannot rebuild the model .*units"),
    (lambda h: h["config"]["layers"][0].update(class_name="Nope"), None, r"unknown layer class 'Nope'"),
    (lambda h: h.update(rng_states={"0": {"x": 1}}), None, r"has no seeded generator"),
])
def test_crafted_files_are_refused_clearly(saved, tmp_path, header_fn, arrays_fn, match):
    with pytest.raises(ValueError, match=match):
        M.load_model(_craft(saved, tmp_path, header_fn, arrays_fn))


def test_bit_flipped_files_give_a_clear_error_or_a_valid_model(saved, tmp_path):
    data = saved.read_bytes()
    rng = np.random.default_rng(0)
    target = tmp_path / "flipped.npz"
    for _ in range(300):
        b = bytearray(data)
        pos = int(rng.integers(len(b)))
        b[pos] ^= 1 << int(rng.integers(8))
        target.write_bytes(bytes(b))
        try:
            m = M.load_model(target)
        except ValueError:
            continue  # every failure is a ValueError naming the file (never NotImplementedError, KeyError, ...)
        assert all(np.isfinite(w).all() for w in m.get_weights())


def test_load_model_argument_checks(saved):
    with pytest.raises(TypeError, match=r"custom_objects must be a dict .*got 3 \(int\)"):
        M.load_model(saved, custom_objects=3)
    with pytest.raises(TypeError, match=r"custom_objects must be a dict"):
        M.load_model(saved, custom_objects={3: L.Dense})
    with pytest.raises(TypeError, match=r"compile must be a bool"):
        M.load_model(saved, compile="no")


def test_seeded_dropout_and_noise_keep_their_random_state(tmp_path):
    m = _model(seed_layers=True)
    x = np.ones((2, 3), np.float32)
    m(x, training=True)  # advance both generators past their seeds
    m.save(tmp_path / "d.npz")
    m2 = M.load_model(tmp_path / "d.npz")
    for _ in range(2):
        np.testing.assert_array_equal(m(x, training=True).numpy(), m2(x, training=True).numpy())
    # and training continues identically
    y = np.zeros((2, 3), np.float32)
    m.fit(x, y, verbose=0, shuffle=False)
    m2.fit(x, y, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_duplicate_layer_names_are_refused_at_save_and_tied_layers_relink(tmp_path):
    # Sequential.add refuses a duplicate among its own layers; one inside a nested model is caught at save.
    b = L.Dense(3, name="same")
    m = M.Sequential([L.Input((4,)), L.Dense(3, name="same_outer"), M.Sequential([b], name="inner")])
    m.layers[0].name = "same"  # renamed after add, as a user can
    m.add(L.DenseTranspose(b, name="t"))
    with pytest.raises(ValueError, match=r"two different layers named 'same'"):
        m.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
    enc = L.Dense(3, name="enc")
    m = M.Sequential([L.Input((4,)), L.Dense(3, name="first"), enc, L.DenseTranspose(enc, name="t")])
    m.save(tmp_path / "ok.npz")
    m2 = M.load_model(tmp_path / "ok.npz")
    assert m2.layers[2].tied_to is m2.layers[1]
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))


def test_saving_from_threads_to_one_path(tmp_path):
    m = _model()
    path = tmp_path / "s.npz"
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker() -> None:
        start.wait()
        for _ in range(15):
            try:
                m.save(path)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]
    np.testing.assert_array_equal(M.load_model(path).get_weights()[0], m.get_weights()[0])


def test_saving_from_processes_to_one_path(tmp_path):
    path = tmp_path / "p.npz"
    code = (
        "import sys, numpy as np\nfrom minidl import layers as L, models as M\n"
        "m = M.Sequential([L.Input((3,)), L.Dense(int(sys.argv[2]))])\n"
        "for _ in range(10):\n    m.save(sys.argv[1])\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), str(k)]) for k in (2, 3, 4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["p.npz"]
    assert M.load_model(path).layers[0].units in (2, 3, 4)


def test_stale_temporaries_of_dead_savers_are_removed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale_new = tmp_path / f".s.npz.{_atomic._host()}-{proc.pid}.x1.tmp"
    stale_old = tmp_path / f"s.npz.tmp{proc.pid}"  # the naming before issue #18
    for p in (stale_new, stale_old):
        p.write_bytes(b"half a model")
    _model().save(tmp_path / "s.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_an_interrupted_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "s.npz"
    m = _model()
    m.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        m.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["s.npz"]
    assert zipfile.is_zipfile(path)


def _double(x):
    return x * 2


def _sevens(shape, dtype, rng):
    return np.full(shape, 7.0, dtype)


@pytest.mark.parametrize("make, match", [
    (lambda: M.Sequential([L.Input((3,)), L.Dense(2, activation=_double)]), r"custom activation '_double'"),
    (lambda: M.Sequential([L.Input((3,)), L.Dense(2, kernel_initializer=_sevens)]),
     r"custom kernel_initializer '_sevens'"),
])
def test_what_load_could_never_rebuild_is_refused_at_save(tmp_path, make, match):
    with pytest.raises(ValueError, match=match):
        make().save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_decoder_tied_to_a_layer_outside_the_model_is_refused_at_save(tmp_path):
    enc = L.Dense(3, name="outside")
    full = M.Sequential([L.Input((4,)), enc, L.DenseTranspose(enc, name="dec")])
    decoder = M.Sequential([L.Input((3,)), full.layers[1]])
    with pytest.raises(ValueError, match=r"layer 'dec' is tied to 'outside', which is not part of model"):
        decoder.save(tmp_path / "d.npz")
    full.save(tmp_path / "full.npz")  # the model holding both saves and reloads
    assert M.load_model(tmp_path / "full.npz").layers[1].tied_to.name == "outside"
