"""activations: ReLU, sigmoid and tanh, element-wise on any shape.

The math, once (``y`` the forward output, ``dy`` its upstream gradient)::

    relu:     y = max(x, 0)              dx = dy * (x > 0)
    sigmoid:  y = 1 / (1 + exp(-x))      dx = dy * y * (1 - y)
    tanh:     y = tanh(x)                dx = dy * (1 - y**2)

Sigmoid is computed as ``1/(1+e)`` for x >= 0 and ``e/(1+e)`` below, ``e = exp(-|x|)``: exp of a
non-positive number never overflows. The backward passes take ``y`` (sigmoid, tanh) or ``x`` (ReLU).

Files: :mod:`.reference`, :mod:`.loops`, :mod:`.cuda`, :mod:`.cpu`. Contract::

    relu_forward(x, out);     relu_backward(x, dy, dx)
    sigmoid_forward(x, out);  sigmoid_backward(y, dy, dx)
    tanh_forward(x, out);     tanh_backward(y, dy, dx)
"""
FUNCTIONS = ("relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward",
             "tanh_backward")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "cuda": "cuda"}
