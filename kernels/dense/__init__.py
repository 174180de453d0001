"""dense: the fully connected layer, and inverted dropout.

The math, once. ``x`` (N, I), ``w`` (I, O), ``b`` (O,)::

    y[n, o]  = b[o] + sum_i x[n, i] w[i, o]          (y = x @ w + b)
    dx[n, i] = sum_o dy[n, o] w[i, o]                (dx = dy @ w^T)
    dw[i, o] = sum_n x[n, i] dy[n, o]                (dw = x^T @ dy)
    db[o]    = sum_n dy[n, o]

Dropout with rate ``r``, ``u`` uniforms in [0, 1) drawn by the caller from a seeded generator::

    mask = (u >= r) / (1 - r)      y = x * mask      dx = dy * mask

(scaled at training time so that the expected output equals the input: nothing to do at inference).

Files: :mod:`.reference`, :mod:`.loops`, :mod:`.cuda`, :mod:`.cpu`. Contract::

    dense_forward(x, w, b, out);   dense_backward(x, w, dy, dx, dw, db)
    dropout_forward(x, u, rate, out, mask);   dropout_backward(dy, mask, dx)
"""
FUNCTIONS = ("dense_forward", "dense_backward", "dropout_forward", "dropout_backward")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "cuda": "cuda"}
