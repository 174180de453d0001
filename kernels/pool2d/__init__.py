"""pool2d: max-pooling, NHWC.

The math, once. Input ``x[n, r, s, c]``, window ``kh x kw``, strides ``sh, sw``, top/left padding
``ph, pw``; output ``y[n, i, j, c]`` over the window ``W(i, j) = {(i*sh - ph + p, j*sw - pw + q)}`` (cells
inside the image only: padding is never a candidate)::

    y[n, i, j, c]      = max_{(r, s) in W(i, j)} x[n, r, s, c]
    argmax[n, i, j, c] = r*W + s of the FIRST maximum in row-major window order (strict '>' while scanning)
    dx[n, r, s, c]     = sum of dy[n, i, j, c] over the windows whose argmax is (r, s)

The max is locally the identity on the winner and constant in the others, so the gradient of each window
goes entirely to its argmax; windows overlap when stride < window, hence the sum.

Files: :mod:`.reference`, :mod:`.loops`, :mod:`.cuda`, :mod:`.cpu`. Contract::

    maxpool2d_forward(x, out, argmax, kh, kw, sh, sw, ph, pw)   # argmax int64 (N,OH,OW,C)
    maxpool2d_backward(dy, argmax, dx)                          # dx (N,H,W,C) overwritten
"""
FUNCTIONS = ("maxpool2d_forward", "maxpool2d_backward")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "cuda": "cuda"}
