"""Deep embedded clustering: DEC (Xie, Girshick, Farhadi, 2016) and IDEC (Guo, Gao, Liu, Yin, 2017).

KMeans on autoencoder codes clusters with features learned for *reconstruction*. DEC then fine-tunes the
encoder for *clustering*: a clustering layer holds K centres mu_j in code space and turns each code z_i into
soft assignments with Student's t kernel (alpha degrees of freedom, 1 in the paper)::

    q_ij = (1 + ||z_i - mu_j||^2 / alpha) ^ (-(alpha + 1) / 2)  /  sum_j' (same for j')

and trains encoder and centres to minimise KL(P || Q) = sum_ij p_ij log(p_ij / q_ij) / N towards the sharpened
target distribution::

    p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'),   f_j = sum_i q_ij  (the soft cluster sizes)

Squaring puts more weight on confident assignments (self-training) and dividing by f_j keeps large clusters
from swallowing the others. P is recomputed from the whole data set every ``update_interval`` steps and held
fixed in between; training stops when fewer than ``tol`` of the labels changed between two updates. The
centres start at KMeans' centres on the pretrained codes.

IDEC keeps the decoder and trains on ``L = L_rec + gamma * KL(P || Q)`` (the reconstruction MSE plus the
clustering loss, gamma = 0.1 as in the IDEC paper), so that fine-tuning for clusters cannot destroy the local
structure of the data that the autoencoder learned.

Usage (scikit-learn style)::

    from minidl.deep_clustering import DEC, IDEC
    dec = DEC(n_clusters=10, random_state=0).fit(x)      # x (N, D) in [0, 1]; pretrains its own autoencoder
    dec.labels_, dec.cluster_centers_, dec.predict(x_new)
    idec = IDEC(n_clusters=10, autoencoder=trained_ae)   # or start from a trained autoencoder (its layer
    idec.fit(x)                                          # named ``code_layer`` ends the encoder; copied)
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import layers, models, optimizers
from .autograd import Tensor, no_grad
from .cluster import KMeans
from .layers.base import Layer

__all__ = ["ClusteringLayer", "soft_assignments", "target_distribution", "dec_autoencoder", "DEC", "IDEC"]


class ClusteringLayer(Layer):
    """Soft assignments of codes to K learnable centres with Student's t kernel.

    Shapes: z (N, d) -> q (N, K), rows summing to 1. Weight: ``clusters`` (K, d).

    Math: ``q_ij ∝ (1 + ||z_i - mu_j||² / alpha)^(-(alpha + 1) / 2)``, the squared distance computed as
    ``||z||² - 2 z·mu + ||mu||²`` (one matrix product), clipped at 0 against rounding.

    Args:
        n_clusters: K (>= 1).
        alpha: degrees of freedom of the t kernel (> 0; 1 in DEC).
    """

    def __init__(self, n_clusters: int, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1:
            raise ValueError(f"ClusteringLayer: n_clusters must be a positive integer, got {n_clusters!r}")
        if not (isinstance(alpha, (int, float)) and np.isfinite(alpha) and alpha > 0):
            raise ValueError(f"ClusteringLayer: alpha must be a finite number > 0, got {alpha!r}")
        self.n_clusters, self.alpha = int(n_clusters), float(alpha)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"ClusteringLayer expects codes of shape (N, d), got {tuple(input_shape)}")
        self.clusters = self.add_weight("clusters", (self.n_clusters, int(input_shape[-1])), "glorot_uniform")

    def call(self, z: Tensor, training: bool = False) -> Tensor:
        return soft_assignments(z, self.clusters, self.alpha)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_clusters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_clusters": self.n_clusters, "alpha": self.alpha}


def soft_assignments(z: Tensor, mu: Tensor, alpha: float = 1.0) -> Tensor:
    """Student's t soft assignments q (N, K) of codes z (N, d) to centres mu (K, d); differentiable in both."""
    d2 = (z * z).sum(axis=1, keepdims=True) - 2.0 * (z @ mu.transpose()) + (mu * mu).sum(axis=1).reshape(1, -1)
    d2 = d2.clip(0.0, None)  # rounding can make ||z||² - 2 z·mu + ||mu||² slightly negative
    kernel = (1.0 + d2 / alpha) ** (-(alpha + 1.0) / 2.0)
    return kernel / kernel.sum(axis=1, keepdims=True)


def target_distribution(q: Any) -> np.ndarray:
    """DEC's target P from soft assignments q (N, K): ``p_ij ∝ q_ij² / sum_i q_ij``, rows normalised."""
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 2 or np.any(q < 0):
        raise ValueError(f"q must be a non-negative (N, K) array, got shape {q.shape}")
    weight = q ** 2 / np.maximum(q.sum(axis=0), 1e-12)
    return weight / np.maximum(weight.sum(axis=1, keepdims=True), 1e-12)


def dec_autoencoder(input_dim: int, dims: Sequence[int]) -> models.Sequential:
    """DEC's autoencoder: ReLU hidden layers, a linear code (the last of ``dims``), sigmoid output."""
    stack: list[Any] = [layers.Input((input_dim,))]
    stack += [layers.Dense(w, activation="relu") for w in dims[:-1]]
    stack.append(layers.Dense(dims[-1], name="code"))
    stack += [layers.Dense(w, activation="relu") for w in reversed(dims[:-1])]
    stack.append(layers.Dense(input_dim, activation="sigmoid"))
    return models.Sequential(stack, name="dec_autoencoder")


class DEC:
    """Deep Embedded Clustering (scikit-learn style); ``gamma > 0`` adds IDEC's reconstruction term.

    Args:
        n_clusters: number of clusters K.
        autoencoder: a trained ``Sequential`` autoencoder to start from (copied, not modified); None builds
            one with ``dims`` and pretrains it for ``pretrain_epochs`` (Adam, binary cross-entropy: x must be
            in [0, 1]).
        code_layer: name of the layer that ends the encoder.
        dims: hidden widths and code size of the built autoencoder (DEC's 500-500-2000-10).
        pretrain_epochs: epochs of autoencoder pretraining (when ``autoencoder`` is None).
        gamma: weight of KL(P‖Q) against the reconstruction MSE (IDEC); 0 is plain DEC (no decoder).
        alpha: degrees of freedom of the t kernel.
        standardize: feed the clustering layer z-scored codes (mean and std of the pretrained codes, kept
            fixed), so that no code unit dominates the distances; the encoder still gets the gradient.
        batch_size: samples per fine-tuning step.
        max_iter: most fine-tuning steps.
        update_interval: steps between recomputations of the target P.
        tol: stop when fewer than this fraction of labels changed between two updates.
        learning_rate: of the fine-tuning optimizer (SGD with momentum 0.9 for DEC, Adam for IDEC).
        n_init: KMeans restarts for the initial centres.
        random_state: seed of the pretraining, KMeans and batch order (None: not reproducible).
        verbose: 0 silent, 1 one line per target update.

    Attributes:
        labels_ (N,): the final hard assignments of the training data (argmax q).
        cluster_centers_ (K, d): the centres in (standardized) code space.
        n_iter_: fine-tuning steps taken. kmeans_labels_: the initial KMeans labels.
        autoencoder_, encoder_: the fine-tuned networks. history_: [(step, loss, changed fraction), ...].
    """

    def __init__(self, n_clusters: int = 10, *, autoencoder: models.Sequential | None = None,
                 code_layer: str = "code", dims: Sequence[int] = (500, 500, 2000, 10), pretrain_epochs: int = 100,
                 gamma: float = 0.0, alpha: float = 1.0, standardize: bool = True, batch_size: int = 256,
                 max_iter: int = 2000, update_interval: int = 20, tol: float = 1e-3,
                 learning_rate: float | None = None, n_init: int = 20, random_state: int | None = None,
                 verbose: int = 0) -> None:
        checks = {"n_clusters": (n_clusters, 1), "pretrain_epochs": (pretrain_epochs, 0), "batch_size": (batch_size, 1),
                  "max_iter": (max_iter, 0), "update_interval": (update_interval, 1), "n_init": (n_init, 1)}
        for name, (value, low) in checks.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{type(self).__name__}: {name} must be an integer >= {low}, got {value!r}")
        if not (np.isfinite(gamma) and gamma >= 0):
            raise ValueError(f"{type(self).__name__}: gamma must be a finite number >= 0, got {gamma!r}")
        if not (np.isfinite(tol) and tol >= 0):
            raise ValueError(f"{type(self).__name__}: tol must be >= 0, got {tol!r}")
        self.n_clusters, self.autoencoder, self.code_layer, self.dims = n_clusters, autoencoder, code_layer, dims
        self.pretrain_epochs, self.gamma, self.alpha, self.standardize = pretrain_epochs, gamma, alpha, standardize
        self.batch_size, self.max_iter, self.update_interval, self.tol = batch_size, max_iter, update_interval, tol
        self.learning_rate, self.n_init, self.random_state, self.verbose = learning_rate, n_init, random_state, verbose

    # ------------------------------------------------------------------------------------------ helpers
    def _encode(self, x: Any, training: bool = False) -> Tensor:
        z = self.encoder_(x, training=training)
        return (z - self._mean) / self._std if self.standardize else z

    def _soft(self, x: np.ndarray) -> np.ndarray:
        with no_grad():
            return np.concatenate([self.clustering_(self._encode(x[i:i + 1000])).numpy()
                                   for i in range(0, len(x), 1000)])

    def _check_x(self, x: Any) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim != 2 or len(arr) < self.n_clusters:
            raise ValueError(f"x must be (N, D) with N >= n_clusters ({self.n_clusters}); got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("x contains NaN or infinite values")
        return np.ascontiguousarray(arr)

    # ------------------------------------------------------------------------------------------ API
    def fit(self, x: Any, y: Any = None) -> "DEC":
        """Pretrains (or copies) the autoencoder, initialises the centres by KMeans, fine-tunes. ``y`` is
        ignored (scikit-learn convention)."""
        x = self._check_x(x)
        from .utils import set_random_seed

        if self.random_state is not None:
            set_random_seed(int(self.random_state))
        rng = np.random.default_rng(self.random_state)
        if self.autoencoder is None:
            ae = dec_autoencoder(x.shape[1], self.dims)
            ae.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy")
            ae.fit(x, x, batch_size=256, epochs=self.pretrain_epochs, verbose=0)
        else:
            ae = copy.deepcopy(self.autoencoder)
        names = [layer.name for layer in ae.layers]
        if self.code_layer not in names:
            raise ValueError(f"autoencoder has no layer named {self.code_layer!r}; its layers: {names}")
        k = names.index(self.code_layer) + 1
        self.autoencoder_ = ae
        self.encoder_ = models.Sequential(ae.layers[:k])
        decoder = ae.layers[k:]

        with no_grad():
            codes = np.concatenate([self.encoder_(x[i:i + 1000]).numpy() for i in range(0, len(x), 1000)])
        self._mean = codes.mean(axis=0).astype(np.float32)
        self._std = (codes.std(axis=0) + 1e-6).astype(np.float32)
        feats = (codes - self._mean) / self._std if self.standardize else codes
        km = KMeans(self.n_clusters, n_init=self.n_init, random_state=self.random_state).fit(feats)
        self.kmeans_labels_ = km.labels_.copy()
        self.clustering_ = ClusteringLayer(self.n_clusters, self.alpha, name="clustering")
        self.clustering_._ensure_built((None, feats.shape[1]))
        self.clustering_.clusters.data[...] = km.cluster_centers_.astype(np.float32)

        params = [*self.encoder_.trainable_weights, self.clustering_.clusters]
        if self.gamma > 0:
            params += [w for layer in decoder for w in layer.trainable_weights]
            opt: optimizers.Optimizer = optimizers.Adam(learning_rate=self.learning_rate or 1e-3)
        else:
            opt = optimizers.SGD(learning_rate=self.learning_rate or 0.01, momentum=0.9)

        labels = self.kmeans_labels_
        self.history_: list[tuple[int, float, float]] = []
        order = rng.permutation(len(x))
        pos, step, p = 0, 0, None
        loss_value = float("nan")
        while step < self.max_iter:
            if step % self.update_interval == 0:
                q = self._soft(x)
                p = target_distribution(q).astype(np.float32)
                new = q.argmax(axis=1)
                changed = float(np.mean(new != labels)) if step else 1.0
                labels = new
                self.history_.append((step, loss_value, changed))
                if self.verbose:
                    print(f"{type(self).__name__} step {step}: loss {loss_value:.4f}, labels changed {changed:.4f}")
                if step and changed < self.tol:
                    break
            if pos + self.batch_size > len(x):
                order, pos = rng.permutation(len(x)), 0
            idx = order[pos:pos + self.batch_size]
            pos += self.batch_size
            xb = x[idx]
            z = self.encoder_(xb, training=True)
            zs = (z - self._mean) / self._std if self.standardize else z
            qb = self.clustering_(zs)
            pb = p[idx]
            # KL(P || Q) per sample: P is a constant, only log Q carries a gradient.
            kl = (Tensor(pb) * (Tensor(np.log(np.maximum(pb, 1e-12))) - qb.clip(1e-12, None).log())).sum() / len(idx)
            loss = kl
            if self.gamma > 0:
                h = z
                for layer in decoder:
                    h = layer(h, training=True)
                loss = ((h - Tensor(xb)) ** 2).mean() + kl * self.gamma
            for w in params:
                w.grad = None
            loss.backward()
            opt.apply_gradients(params)
            loss_value = float(loss.item())
            step += 1
        self.n_iter_ = step
        self.labels_ = self._soft(x).argmax(axis=1)
        self.cluster_centers_ = self.clustering_.clusters.numpy().copy()
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        """Soft assignments q (N, K) of new samples."""
        if not hasattr(self, "clustering_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit(x) first")
        return self._soft(self._check_x(x))

    def predict(self, x: Any) -> np.ndarray:
        """Hard assignments (N,): argmax of q."""
        return self.predict_proba(x).argmax(axis=1)

    def fit_predict(self, x: Any, y: Any = None) -> np.ndarray:
        return self.fit(x).labels_


class IDEC(DEC):
    """DEC with the decoder kept: loss = reconstruction MSE + gamma * KL(P‖Q) (gamma 0.1, Adam)."""

    def __init__(self, n_clusters: int = 10, *, gamma: float = 0.1, **kwargs: Any) -> None:
        if not gamma > 0:
            raise ValueError(f"IDEC: gamma must be > 0 (gamma = 0 is DEC), got {gamma!r}")
        super().__init__(n_clusters, gamma=gamma, **kwargs)
