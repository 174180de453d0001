"""softmax: softmax and log-softmax over the last axis of (M, K), and the fused losses (softmax
cross-entropy, binary cross-entropy with logits).

The math, once, for one row ``x`` (``lse = log sum_k exp(x_k)``, computed with the row max taken out)::

    softmax:      p = exp(x - lse)            dx = p * (dy - sum(dy * p))     (Jacobian diag(p) - p p^T)
    log-softmax:  l = x - lse                 dx = dy - exp(l) * sum(dy)      (Jacobian I - 1 p^T)
    cross-entropy against a target row t (one-hot for integer labels), mean over the M rows:
                  loss = -sum_k t_k (x_k - lse)      dloss/dx = p * sum(t) - t   (= p - t for one-hot t)
    BCE with logits, element-wise, mean over all elements:
                  loss = max(z, 0) - z t + log(1 + exp(-|z|))      dloss/dz = sigmoid(z) - t

The losses come from log-softmax, never ``log(p)``: finite even when a wrong class gets p = 0.

Files: :mod:`.reference`, :mod:`.loops`, :mod:`.cuda`, :mod:`.cpu`. Contract (``scale`` multiplies the
gradient, e.g. the upstream gradient of the mean)::

    softmax_forward(x, out);      softmax_backward(y, dy, dx)
    log_softmax_forward(x, out);  log_softmax_backward(y, dy, dx)
    softmax_xent_sparse_forward(logits, labels, probs) -> float   # labels int64 (M,)
    softmax_xent_sparse_backward(probs, labels, dlogits, scale)
    softmax_xent_dense_forward(logits, target, probs) -> float    # target (M, K)
    softmax_xent_dense_backward(probs, target, dlogits, scale)
    bce_logits_forward(z, t, p) -> float                          # any shape; p = sigmoid(z)
    bce_logits_backward(p, t, dz, scale)
"""
FUNCTIONS = ("softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
             "softmax_xent_sparse_forward", "softmax_xent_sparse_backward",
             "softmax_xent_dense_forward", "softmax_xent_dense_backward",
             "bce_logits_forward", "bce_logits_backward")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "cuda": "cuda"}
