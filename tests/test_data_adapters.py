"""fit / evaluate / predict on generators and PyDataset: the same weights as the equivalent arrays."""
import numpy as np
import pytest

import minidl
from minidl import layers, optimizers
from minidl.utils import PyDataset, Sequence


def make_model():
    minidl.utils.set_random_seed(3)
    model = minidl.Sequential([layers.Input((4,)), layers.Dense(5, activation="relu"),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=40):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, np.eye(3, dtype="float32")[rng.integers(0, 3, n)]


class Batches(PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.bs = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        return self.x[i * self.bs:(i + 1) * self.bs], self.y[i * self.bs:(i + 1) * self.bs]

    def on_epoch_end(self):
        self.epochs_ended += 1


def gen(x, y, bs):
    while True:
        for i in range(0, len(x), bs):
            yield x[i:i + bs], y[i:i + bs]


def test_pydataset_and_generator_train_to_the_same_weights_as_arrays():
    x, y = data()
    ref = make_model()
    h_ref = ref.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=(x[:8], y[:8]))
    m1 = make_model()
    ds = Batches(x, y, 8)
    h1 = m1.fit(ds, epochs=3, verbose=0, validation_data=(x[:8], y[:8]))
    m2 = make_model()
    h2 = m2.fit(gen(x, y, 8), steps_per_epoch=5, epochs=3, verbose=0, validation_data=gen(x[:8], y[:8], 8),
                validation_steps=1)
    for m in (m1, m2):
        for a, b in zip(ref.get_weights(), m.get_weights()):
            np.testing.assert_array_equal(a, b)
    for h in (h1, h2):
        for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(h.history[k], h_ref.history[k], rtol=1e-6)
    assert ds.epochs_ended == 3
    assert Sequence is PyDataset
    # evaluate / predict agree with arrays
    np.testing.assert_allclose(m1.evaluate(Batches(x, y, 8), verbose=0), ref.evaluate(x, y, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(m1.predict(gen(x, y, 8), steps=5), ref.predict(x), rtol=1e-6)
    np.testing.assert_allclose(m2.predict(Batches(x, y, 16)), ref.predict(x), rtol=1e-6)


def test_finite_generator_without_steps_runs_out_with_a_warning():
    x, y = data(16)
    model = make_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        hist = model.fit(iter([(x[:8], y[:8]), (x[8:], y[8:])]), epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 1


@pytest.mark.parametrize("bad, err, match", [
    # a dict names inputs (valid for functional models): one with unknown names says which inputs exist
    ({"a": 1}, ValueError, "do not match the model's inputs"), ("data.csv", TypeError, "unsupported input type str"),
    ({1, 2}, TypeError, "unsupported input type set"),
])
def test_unsupported_inputs_raise_at_once(bad, err, match):
    model = make_model()
    before = model.get_weights()
    for call in (lambda: model.fit(bad, verbose=0), lambda: model.evaluate(bad, verbose=0), lambda: model.predict(bad)):
        with pytest.raises(err, match=match):
            call()
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_batches_and_arguments():
    x, y = data(16)
    model = make_model()
    with pytest.raises(ValueError, match="do not pass y"):
        model.fit(Batches(x, y, 8), y, verbose=0)
    with pytest.raises(ValueError, match="apply to generator"):
        model.fit(x, y, steps_per_epoch=2, verbose=0)
    with pytest.raises(NotImplementedError, match="sample_weight"):
        model.fit(iter([(x, y, np.ones(16))]), verbose=0)
    with pytest.raises(ValueError, match="tuple \\(x, y\\)"):
        model.fit(iter([x]), verbose=0)
    with pytest.raises(ValueError, match="steps=9 but the dataset has only 2"):
        model.fit(Batches(x, y, 8), steps_per_epoch=9, verbose=0)
    with pytest.raises(ValueError, match="batch x"):
        model.fit(iter([(np.ones((4, 7)), y[:4])]), verbose=0)
    with pytest.raises(ValueError, match="workers"):
        Batches(x, y, 8, workers=0)
