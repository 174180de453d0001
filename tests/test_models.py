"""Sequential: summaries (Keras parameter counts), training, callbacks, freezing, save/load, gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import Tensor, callbacks, layers as L, models, ops, optimizers
from minidl.testing import gradcheck_model
from minidl.utils import set_random_seed, to_categorical


def lenet5() -> models.Sequential:
    return models.Sequential([
        L.Conv2D(6, 5, padding="same", activation="tanh", input_shape=(28, 28, 1)), L.MaxPooling2D(),
        L.Conv2D(16, 5, activation="tanh"), L.MaxPooling2D(), L.Flatten(),
        L.Dense(120, activation="tanh"), L.Dense(84, activation="tanh"), L.Dense(10, activation="softmax"),
    ])


def mnist_cnn() -> models.Sequential:
    return models.Sequential([
        L.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(), L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ])


def summary_lines(model) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return lines


def test_lenet5_summary_matches_keras_param_counts():
    model = lenet5()
    assert [l.count_params() for l in model.layers] == [156, 0, 2416, 0, 0, 48120, 10164, 850]
    text = "\n".join(summary_lines(model))  # before any data
    assert "Total params: 61706" in text and "Trainable params: 61706" in text
    assert "(None, 28, 28, 6)" in text and "(None, 5, 5, 16)" in text and "(None, 400)" in text


def test_mnist_cnn_summary_shapes_and_counts():
    model = mnist_cnn()
    lines = summary_lines(model)
    first = next(l for l in lines if l.startswith(f" {model.layers[0].name} (Conv2D)"))
    assert "(None, 26, 26, 32)" in first and first.rstrip().endswith("320")
    shapes = [l.output_shape for l in model.layers]
    assert shapes == [(None, 26, 26, 32), (None, 13, 13, 32), (None, 11, 11, 64), (None, 5, 5, 64),
                      (None, 1600), (None, 1600), (None, 10)]
    assert [l.count_params() for l in model.layers] == [320, 0, 18496, 0, 0, 0, 16010]
    assert model.count_params() == 34826
    text = "\n".join(lines)
    assert "Total params: 34826 (136.04 KB)" in text and "Non-trainable params: 0" in text
    assert "(MaxPooling2D)" in text and "Param #" in text


def test_summary_without_input_shape_says_how_to_build():
    with pytest.raises(ValueError, match="not yet been built"):
        models.Sequential([L.Dense(3)]).summary()
    m = models.Sequential([L.Dense(3)])
    m.build((None, 4))
    assert "Total params: 15" in "\n".join(summary_lines(m))


def blobs(n=96, k=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 3
    y = rng.integers(0, k, n)
    return (centers[y] + rng.standard_normal((n, d))).astype(np.float32), y


def small_model(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=("accuracy",)) -> models.Sequential:
    model = models.Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def test_fit_reduces_loss_and_returns_history():
    set_random_seed(0)
    x, y = blobs()
    model = small_model(optimizer=optimizers.Adam(0.05))
    assert model._fused()  # softmax + cross-entropy: trained from the logits
    hist = model.fit(x, y, batch_size=16, epochs=8, verbose=0, validation_split=0.25)
    assert hist is model.history
    assert list(hist.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert hist.epoch == list(range(8))
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.9
    p = model.predict(x)
    assert p.shape == (96, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)  # probabilities, though trained fused
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9 and loss < hist.history["loss"][0]


def test_validation_split_takes_the_last_samples():
    set_random_seed(1)
    x, y = blobs(n=40)
    model = small_model()
    hist = model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_split=0.25)
    # Validation runs at the epoch's end with the final weights: evaluate on the last 10 samples agrees.
    val = model.evaluate(x[30:], y[30:], verbose=0)
    np.testing.assert_allclose([hist.history["val_loss"][0], hist.history["val_accuracy"][0]], val, rtol=1e-6)
    first = model.evaluate(x[:10], y[:10], verbose=0)
    assert not np.isclose(first[0], val[0])


def test_early_stopping_and_callback_order():
    set_random_seed(2)
    x, y = blobs(n=32)
    calls = []

    class Recorder(callbacks.Callback):
        def on_train_begin(self, logs=None): calls.append("train_begin")
        def on_epoch_begin(self, epoch, logs=None): calls.append(f"epoch_begin{epoch}")
        def on_train_batch_end(self, batch, logs=None): calls.append(f"batch{batch}")
        def on_epoch_end(self, epoch, logs=None): calls.append(f"epoch_end{epoch}:{sorted(logs)}")
        def on_train_end(self, logs=None): calls.append("train_end")

    stop = callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=1)  # never "improves"
    model = small_model(metrics=())
    hist = model.fit(x, y, batch_size=16, epochs=10, verbose=0, callbacks=[Recorder(), stop])
    assert hist.epoch == [0, 1] and model.stop_training
    assert calls == ["train_begin", "epoch_begin0", "batch0", "batch1", "epoch_end0:['loss']",
                     "epoch_begin1", "batch0", "batch1", "epoch_end1:['loss']", "train_end"]


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = blobs(n=16)
    small_model().fit(x, y, epochs=2, verbose=2, batch_size=8)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2"
    assert out[1].startswith("2/2 - ") and " - loss: " in out[1] and " - accuracy: " in out[1]


def test_frozen_layer_is_not_trained_and_counted_non_trainable():
    set_random_seed(3)
    x, y = blobs(n=32)
    model = small_model()
    model.build()
    model.layers[0].trainable = False
    before = model.layers[0].get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    text = "\n".join(summary_lines(model))
    assert "Trainable params: 27 " in text and "Non-trainable params: 40 " in text


def test_nan_loss_stops_training_before_the_bad_update():
    set_random_seed(4)
    x, y = blobs(n=32)
    seen = {"n": 0}

    def flaky_mse(y_true, y_pred):  # finite for two batches, NaN on the third
        seen["n"] += 1
        loss = ops.mean((y_pred - Tensor(to_categorical(y_true, 3))) ** 2)
        return loss * float("nan") if seen["n"] == 3 else loss

    model = small_model(loss=flaky_mse, optimizer="sgd", metrics=())
    twin = small_model(loss="mse", optimizer="sgd", metrics=())
    twin.build()
    model.build()
    twin.set_weights(model.get_weights())
    with pytest.warns(RuntimeWarning, match="Batch 2: invalid loss nan, terminating training"):
        hist = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    assert model.stop_training and hist.epoch == [0] and np.isnan(hist.history["loss"][0])
    twin.fit(x[:16], to_categorical(y[:16], 3), batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), twin.get_weights()):  # two updates, the NaN one skipped
        np.testing.assert_array_equal(a, b)


def test_encoder_from_shared_layers():
    set_random_seed(5)
    ae = models.Sequential([L.Dense(2, activation="tanh", input_shape=(4,)), L.Dense(4)])
    ae.compile("adam", "mse")
    x, _ = blobs(n=16)
    ae.fit(x, x, epochs=1, verbose=0)
    encoder = models.Sequential(ae.layers[:1])
    codes = encoder(Tensor(x))
    assert isinstance(codes, Tensor) and codes.shape == (16, 2)
    np.testing.assert_array_equal(encoder.predict(x), codes.data)
    assert encoder.layers[0] is ae.layers[0]


def test_train_and_test_on_batch():
    x, y = blobs(n=16)
    model = small_model()
    loss, acc = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1 and model.optimizer.iterations == 1
    assert isinstance(small_model(metrics=()).test_on_batch(x, y), float)
    assert isinstance(small_model(metrics=()).evaluate(x, y, verbose=0), float)


def test_save_load_round_trip_and_continue_training(tmp_path):
    set_random_seed(6)
    x, y = blobs(n=48)
    model = small_model()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = minidl.load_model(path)
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))  # bit-identical
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 3
    assert loaded.metrics_names == ["loss", "accuracy"] and loaded.loss.name == model.loss.name
    # Continuing from the file matches continuing the uninterrupted run (Adam's moments restored).
    set_random_seed(7)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    set_random_seed(7)
    loaded.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_load_cnn_with_every_layer_kind(tmp_path):
    model = models.Sequential([
        L.Input((6, 6, 1)), L.Conv2D(2, 3, padding="same", activation="relu"), L.MaxPooling2D(),
        L.UpSampling2D(), L.GaussianNoise(0.1), L.Conv2D(1, 3, activation="sigmoid"), L.Reshape((-1,)),
        L.Dropout(0.2), L.Dense(3), L.Activation("softmax"),
    ])
    model.compile("rmsprop", "categorical_crossentropy")
    x = np.random.default_rng(0).random((4, 6, 6, 1)).astype(np.float32)
    model.fit(x, to_categorical([0, 1, 2, 0], 3), epochs=1, verbose=0)
    model.save(tmp_path / "cnn")
    loaded = models.load_model(tmp_path / "cnn")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config()["layers"] == model.get_config()["layers"]


def test_gradcheck_model_small_cnn():
    set_random_seed(8)
    model = models.Sequential([
        L.Input((6, 6, 1)), L.Conv2D(2, 3, activation="tanh"), L.MaxPooling2D(), L.Flatten(), L.Dropout(0.5),
        L.Dense(3, activation="softmax"),
    ])
    model.compile("adam", "categorical_crossentropy")
    x = np.random.default_rng(1).standard_normal((3, 6, 6, 1))
    w = model.get_weights()
    assert gradcheck_model(model, x, to_categorical([0, 2, 1], 3))
    for a, b in zip(w, model.get_weights()):  # put back untouched, float32
        assert b.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_gradcheck_model_sigmoid_bce_with_activity_regularizer():
    set_random_seed(9)
    model = models.Sequential([L.Dense(3, activation="tanh", activity_regularizer=0.1, input_shape=(4,)),
                               L.Dense(2, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    assert model._fused()
    x = np.random.default_rng(2).standard_normal((5, 4))
    assert gradcheck_model(model, x, np.random.default_rng(3).integers(0, 2, (5, 2)).astype(float))


def test_lazy_reexports():
    assert minidl.Sequential is models.Sequential and minidl.load_model is models.load_model


def test_fit_on_cuda_matches_cpu():
    """model.to('cuda') (the CUDA simulator on machines without a GPU): same losses and predictions."""
    pytest.importorskip("numba.cuda")
    set_random_seed(10)
    x, y = blobs(n=8)
    gpu = small_model()
    gpu.build()
    cpu = models.Sequential.from_config(gpu.get_config())
    cpu.set_weights(gpu.get_weights())
    cpu.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    try:
        gpu.to("cuda")
    except RuntimeError as e:  # numba-cuda missing or unusable here
        pytest.skip(str(e))
    assert gpu.layers[0].kernel.device == "cuda"
    h_gpu = gpu.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    h_cpu = cpu.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(h_gpu.history["loss"], h_cpu.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(gpu.predict(x), cpu.predict(x), atol=1e-5)
