"""tied_ae: a tied-weight autoencoder layer pair (the decoder uses the encoder's kernel transposed).

The math, once. ``x`` (N, D), ``W`` (D, Hd), biases ``b`` (Hd,) and ``c`` (D,), activations ``h`` (encoder)
and ``g`` (decoder) given by code (``shapes.ACT_CODES``), their derivatives written from their outputs::

    y    = h(x W + b)                 xhat = g(y W^T + c)
    dr   = dxhat * g'(xhat)           dc = sum_n dr
    da   = (dy + dr W) * h'(y)        db = sum_n da          (dy: y's own upstream gradient, often zero)
    dx   = da W^T                     dW = x^T da + dr^T y   (W is used twice: the two paths add)

Files: :mod:`.reference`, :mod:`.loops`, :mod:`.cuda`, :mod:`.cpu`. Contract::

    tied_ae_forward(x, W, b, c, y, xhat, enc, dec)
    tied_ae_backward(x, W, y, xhat, dy, dxhat, dx, dW, db, dc, enc, dec)   # dx may be None
"""
FUNCTIONS = ("tied_ae_forward", "tied_ae_backward")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "cuda": "cuda"}
