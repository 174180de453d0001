"""Simple MNIST convnet: the keras.io example (https://keras.io/examples/vision/mnist_convnet/) on minidl.

Only the imports changed (``import minidl as keras`` instead of ``import keras``). Data:
``minidl.datasets.mnist.load_data()`` returns the embedded 4,000 train / 1,000 test subset of MNIST (offline),
not the full 60,000 / 10,000, so expect a little less than Keras's ~99 %.

Run: ``python examples/mnist_keras_cnn.py`` (``--quick``: 1 epoch on 512 samples, for the tests). Figures (in
``figures/mnist_keras_cnn/``, or ``--out DIR``): history.png (loss and accuracy per epoch) and confusion.png, and
report.html, the interactive report of ``minidl.viz.report``.

Result (recorded from one full run: 15 epochs, batch 128, 3,600 train / 400 validation samples, seed 0,
on the 2-core development machine while other work shared it, so times are approximate):

    test accuracy 0.9700, test loss 0.1160 (val_accuracy 0.9700 after epoch 15);
    about 3.4 s per epoch (~113 ms/step), 50.3 s for all 15 epochs; after minidl set
    OMP_WAIT_POLICY=PASSIVE by default (bench/RESULTS.md), a fresh-clone run gave the same 0.9700 test
    accuracy in 1.48 s per epoch (~36 ms/step), 22.3 s for all 15 epochs. After the kernel work of
    issue 4/8 (GEMMs on single-threaded OpenBLAS split over minidl's pool, fused ReLU) a fresh-clone run
    gave test accuracy 0.9690, loss 0.1166 (val_accuracy 0.9700) in 1.39 s per epoch: float32 sums now
    run in a different order, which moves the last digit; results depend on the thread count
    (NUMBA_NUM_THREADS) for the same reason.

The 1,000 test digits are 100 per class; the weakest class is 7 (recall 0.91, confused with 9 and 2).
"""
import argparse
import os
import time

import numpy as np

import minidl as keras
from minidl import layers
from minidl.metrics import classification_report, confusion_matrix
from _common import add_out_argument, announce_figures, figure_dir, write_report

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="1 epoch on 512 samples (smoke test)")
add_out_argument(parser, __file__)
args = parser.parse_args()
keras.utils.set_random_seed(0)

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
if args.quick:
    x_train, y_train = x_train[:512], y_train[:512]

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
labels_test = y_test
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()

batch_size = 128
epochs = 1 if args.quick else 15

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

start = time.monotonic()
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)
elapsed = time.monotonic() - start
print(f"Training time: {elapsed:.1f}s ({elapsed / epochs:.2f}s per epoch)")

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

# Beyond the Keras example: where the mistakes are.
predicted = model.predict(x_test).argmax(axis=1)
print("Confusion matrix (rows: true digit, columns: predicted):")
print(confusion_matrix(labels_test, predicted, num_classes))
print(classification_report(labels_test, predicted, digits=4))

# The figures: training curves and the confusion matrix.
import matplotlib.pyplot as plt  # noqa: E402 (after training: matplotlib is only needed here)

from minidl import viz  # noqa: E402

out = figure_dir(__file__, args.out)
for fig in (viz.plot_history(history, path=os.path.join(out, "history.png")),
            viz.plot_confusion_matrix(confusion_matrix(labels_test, predicted, num_classes),
                                      title="Keras MNIST CNN, test digits", path=os.path.join(out, "confusion.png"))):
    plt.close(fig)
announce_figures(out)
write_report(model, x_test, labels_test, out, history=history, title="Keras MNIST CNN, test digits")
