"""minidl.kernels: hand-written array kernels, arrays in and arrays out. Never imports minidl.

Three modules implement the same functions with the same names and signatures:

- ``reference`` : plain NumPy, obviously correct, slow. The oracle every other backend is tested against.
- ``cpu``       : Numba ``@njit(parallel=True, cache=True)``; float32 or float64 C-contiguous arrays.
- ``cuda``      : ``numba.cuda`` kernels plus launch wrappers; the same functions on device arrays.
  Imported lazily (``from minidl.kernels import cuda``) so that minidl works without a GPU.

The contract (every function writes into caller-allocated outputs, listed last before the scalars, and
returns None unless stated). ``N`` batch, ``H, W`` spatial, ``C`` channels, ``F`` filters; images NHWC.
Padding arguments ``ph, pw`` are the top/left padding from :func:`shapes.conv_output_size`; the output
shape implies the rest.

Convolution, x (N,H,W,C), w (KH,KW,C,F), b (F,), y (N,OH,OW,F)::

    conv2d_forward(x, w, b, out, sh, sw, ph, pw, relu=False)  # relu: fused activation, applied in place
    conv2d_backward_input(dy, w, dx, sh, sw, ph, pw)        # dx (N,H,W,C) overwritten
    conv2d_backward_kernel(x, dy, dw, sh, sw, ph, pw)       # dw (KH,KW,C,F) overwritten
    conv2d_backward_bias(dy, db)                            # db (F,) overwritten: sum of dy over N,OH,OW

Max-pooling, x (N,H,W,C), out (N,OH,OW,C); ``argmax`` int64 (N,OH,OW,C) holds the flat index h*W + w of the
chosen input element (the first maximum in row-major window order; padding is never chosen)::

    maxpool2d_forward(x, out, argmax, kh, kw, sh, sw, ph, pw)
    maxpool2d_backward(dy, argmax, dx)                      # dx (N,H,W,C) overwritten

Element-wise, any shape::

    relu_forward(x, out);     relu_backward(x, dy, dx)      # dx = dy * (x > 0)
    sigmoid_forward(x, out);  sigmoid_backward(y, dy, dx)   # dx = dy * y * (1 - y); y = sigmoid(x)
    tanh_forward(x, out);     tanh_backward(y, dy, dx)      # dx = dy * (1 - y**2)

Row-wise over the last axis of a 2-D array (M, K)::

    softmax_forward(x, out);      softmax_backward(y, dy, dx)        # dx = y * (dy - sum(dy * y))
    log_softmax_forward(x, out);  log_softmax_backward(y, dy, dx)    # dx = dy - exp(y) * sum(dy)
    softmax_xent_sparse_forward(logits, labels, probs) -> float      # mean over rows; labels int64 (M,)
    softmax_xent_sparse_backward(probs, labels, dlogits, scale)      # dlogits = (p - onehot) * scale
    softmax_xent_dense_forward(logits, target, probs) -> float       # target (M,K), mean over rows
    softmax_xent_dense_backward(probs, target, dlogits, scale)       # (p * sum(t) - t) * scale
    bce_logits_forward(z, t, p) -> float       # mean of the stable BCE, any shape; p = sigmoid(z)
    bce_logits_backward(p, t, dz, scale)       # dz = (p - t) * scale (p from the forward: no second exp)

Dense, x (N,I), w (I,O), b (O,)::

    dense_forward(x, w, b, out)                             # out = x @ w + b
    dense_backward(x, w, dy, dx, dw, db)                    # all three overwritten

Dropout (inverted; ``u`` holds uniforms in [0, 1) drawn by the caller from a seeded generator)::

    dropout_forward(x, u, rate, out, mask)                  # mask = (u >= rate) / (1 - rate); out = x * mask
    dropout_backward(dy, mask, dx)                          # dx = dy * mask

Tied-weight autoencoder, x (N,D), W (D,Hd), b (Hd,), c (D,); ``enc``/``dec`` are activation codes
(``shapes.ACT_CODES``)::

    tied_ae_forward(x, W, b, c, y, xhat, enc, dec)          # y = h(x W + b); xhat = g(y W^T + c)
    tied_ae_backward(x, W, y, xhat, dy, dxhat, dx, dW, db, dc, enc, dec)
        # dy: upstream gradient of y (zeros if y is unused); all four grads overwritten;
        # dW sums the encoder and the decoder paths; dx may be None (not computed: x is data).

Optimizer updates, in place on flat parameter arrays::

    sgd_update(param, grad, velocity, lr, momentum, nesterov)   # Keras SGD: v = m v - lr g; p += v
                                                                # (nesterov: p += m v - lr g)
    adam_update(param, grad, m, v, lr, beta1, beta2, eps, t)    # Keras Adam, t = step number >= 1:
        # m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); p -= lr sqrt(1 - b2^t)/(1 - b1^t) m / (sqrt(v) + eps)
    rmsprop_update(param, grad, ms, lr, rho, eps)               # ms = rho ms + (1 - rho) g^2;
                                                                # p -= lr g / (sqrt(ms) + eps)
"""
from . import shapes

__all__ = ["shapes"]
