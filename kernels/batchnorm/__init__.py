"""Batch-normalization kernels: arrays in, arrays out (never imports minidl).

Inputs are 2-D, C-contiguous float32 or float64: ``x`` (M, C) with the channels last (an NHWC batch
reshaped to (N*H*W, C)); per-channel vectors are (C,). Three modules implement the same functions:

- ``reference``: plain NumPy, the oracle.
- ``loops``: Numba ``@njit`` loops, readable, and the CPU path minidl uses.
- ``cuda``: ``numba.cuda`` kernels with launch wrappers (imported lazily, only for the 'cuda' device).

The contract (outputs are caller-allocated and overwritten)::

    bn_stats(x, mean, var)                                 # mean = sum_m x / M; var = sum_m (x - mean)^2 / M
    bn_normalize(x, mean, var, eps, gamma, beta, xhat, y, inv_std)
        # inv_std = 1 / sqrt(var + eps); xhat = (x - mean) * inv_std; y = gamma * xhat + beta
    bn_backward(dy, xhat, gamma, inv_std, dx, dgamma, dbeta, training)

where, with ``dbeta = sum_m dy`` and ``dgamma = sum_m dy * xhat``, the input gradient is, in training mode
(the statistics are functions of x)::

    dx = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma)

and in inference mode (fixed moving statistics) ``dx = gamma * inv_std * dy``. The variance is the biased
one (divided by M), as Keras normalizes with; the two-pass formula keeps it accurate in float32.
"""
FUNCTIONS = ("bn_stats", "bn_normalize", "bn_backward")
# The readable loops are also the fast CPU path: batch norm is a memory-bound pass next to the conv it follows.
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "loops", "cuda": "cuda"}
