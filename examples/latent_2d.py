"""A 2-D bottleneck autoencoder against PCA to 2-D on the embedded MNIST: two maps of the digits, coloured by
label, side by side, and numbers that say which separates the digits better.

    python examples/latent_2d.py               # full run
    python examples/latent_2d.py --quick        # a smoke run (used by the tests)

The lesson:
1. PCA is the best *linear* 2-D projection in the squared-error sense; an autoencoder
   784-256-64-2-64-256-784 with a linear 2-unit code is a *non-linear* projection trained for the same goal
   (reconstruction). With one linear layer and MSE it would find the PCA plane; the ReLU layers let it bend.
2. Both maps are judged on the test digits, the maps being learned on the training digits only:
   * ``*_knn_acc``: 5-nearest-neighbour classification in 2-D (test points against labelled training
     points), i.e. how pure the local neighbourhoods of the map are;
   * ``*_silhouette``: the silhouette of the true digit classes in 2-D, computed by hand
     (s = (b - a) / max(a, b), a = mean distance to the own class, b = to the nearest other class), in [-1, 1];
   * ``*_recon_mse``: how well each 2-D code reconstructs the digit (PCA: projection back with
     ``components_``; AE: its decoder).
   kNN and silhouette depend on the scale of the axes, so both maps are standardised per axis first.
3. Figures (in ``figures/latent_2d/``, or ``--out DIR``): ``latent_2d.png`` (AE | PCA scatter plots) and
   ``latent_2d_reconstructions.png``.

Recorded (full run: 4,000 train / 1,000 test digits, 50 epochs, batch 64, seed 0, 2 shared cores):

    ae_knn_acc     0.641   5-NN accuracy in the AE's 2-D code     pca_knn_acc     0.426   in PCA-2
    ae_silhouette  0.017   silhouette of the digit classes         pca_silhouette  0.010
    ae_recon_mse   0.044   reconstruction from 2 numbers           pca_recon_mse   0.056
    pca_explained_var 0.172   PCA's plane keeps 17 % of the pixel variance

The non-linear map separates the digits much better locally (0.64 against 0.43 5-NN accuracy; chance is
0.10): in ``latent_2d.png`` the 1s, 0s, 6s and 7s/9s spread out along their own rays, while PCA piles all
but 0 and 1 into one cloud. Both silhouettes are near 0: the AE's classes are long, thin rays meeting at the
origin (2, 3, 5, 8 still overlap there), and the silhouette, built on *mean* distances, rewards round,
separate blobs; the neighbourhood-based kNN is the fairer number for such maps.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import minidl
from minidl import layers, models
from minidl.decomposition import PCA
from _common import add_out_argument, announce_figures, figure_dir


def build() -> models.Sequential:
    return models.Sequential([
        layers.Input((784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(2, name="code"),            # linear: the map may use the whole plane
        layers.Dense(64, activation="relu"),
        layers.Dense(256, activation="relu"),
        layers.Dense(784, activation="sigmoid"),
    ], name="ae_2d")


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b)) via |a|^2 + |b|^2 - 2 a.b (clipped at 0 against round-off)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def knn_accuracy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, k: int = 5) -> float:
    """Accuracy of a majority vote of the k nearest training points (ties: the smallest label)."""
    nearest = np.argsort(pairwise_distances(test, train), axis=1)[:, :k]
    votes = y_train[nearest]                                   # (n_test, k)
    counts = np.stack([(votes == c).sum(1) for c in range(10)], axis=1)
    return float(np.mean(counts.argmax(1) == y_test))


def silhouette(z: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient of the labelling ``labels`` of the points ``z`` (N, d)."""
    d = pairwise_distances(z, z)
    classes = np.unique(labels)
    # mean distance of every point to every class; a point's own class excludes the point itself (d = 0).
    mean_to = np.stack([d[:, labels == c].sum(1) / np.maximum((labels == c).sum() - (labels == c), 1)
                        for c in classes], axis=1)
    own = np.searchsorted(classes, labels)
    a = mean_to[np.arange(len(z)), own]
    mean_to[np.arange(len(z)), own] = np.inf
    b = mean_to.min(1)
    return float(np.mean((b - a) / np.maximum(np.maximum(a, b), 1e-12)))


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = train.mean(0), train.std(0) + 1e-12
    return (train - mu) / sd, (test - mu) / sd


def main(quick: bool = False, out: str | None = None) -> dict[str, float]:
    minidl.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = minidl.datasets.mnist.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 255
    epochs = 50
    if quick:
        x_train, y_train, x_test, y_test, epochs = x_train[:512], y_train[:512], x_test[:200], y_test[:200], 1
    results: dict[str, float] = {}

    ae = build()
    ae.compile(optimizer="adam", loss="binary_crossentropy")
    ae.fit(x_train, x_train, batch_size=64, epochs=epochs, verbose=2)
    k = [layer.name for layer in ae.layers].index("code") + 1
    encoder, decoder = models.Sequential(ae.layers[:k]), models.Sequential(ae.layers[k:])
    ae_train, ae_test = encoder.predict(x_train, batch_size=256), encoder.predict(x_test, batch_size=256)
    results["ae_recon_mse"] = float(np.mean((decoder.predict(ae_test, batch_size=256) - x_test) ** 2))

    pca = PCA(2).fit(x_train)
    pca_train, pca_test = pca.transform(x_train), pca.transform(x_test)
    pca_back = pca_test @ pca.components_ + pca.mean_
    results["pca_recon_mse"] = float(np.mean((pca_back - x_test) ** 2))
    results["pca_explained_var"] = float(pca.explained_variance_ratio_.sum())

    for name, (tr, te) in (("ae", (ae_train, ae_test)), ("pca", (pca_train, pca_test))):
        tr, te = standardise(tr.astype(np.float64), te.astype(np.float64))
        results[f"{name}_knn_acc"] = knn_accuracy(tr, y_train, te, y_test, k=5)
        results[f"{name}_silhouette"] = silhouette(te, y_test)

    out = figure_dir(__file__, out)
    import matplotlib.pyplot as plt

    from minidl import viz

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    viz.plot_latent_2d(ae_test, y_test, ax=axes[0],
                       title=f"AE 2-D code (test): 5-NN acc {results['ae_knn_acc']:.2f}")
    viz.plot_latent_2d(pca_test, y_test, ax=axes[1],
                       title=f"PCA 2-D (test): 5-NN acc {results['pca_knn_acc']:.2f}")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latent_2d.png"), dpi=100)
    fig, axes = plt.subplots(2, 1, figsize=(10, 4))
    viz.plot_reconstructions(x_test[:10], decoder.predict(ae_test[:10]), ax=axes[0])
    viz.plot_reconstructions(x_test[:10], np.clip(pca_back[:10], 0, 1), ax=axes[1])
    fig.suptitle("from a 2-D code: AE decoder (top pair) vs PCA (bottom pair)")
    fig.savefig(os.path.join(out, "latent_2d_reconstructions.png"), dpi=100)
    plt.close("all")
    announce_figures(out)

    for key, value in results.items():
        print(f"{key:22s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 epoch on 512 digits (smoke test)")
    add_out_argument(ap, __file__)
    a = ap.parse_args()
    main(quick=a.quick, out=a.out)
