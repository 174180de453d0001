"""optimizers: the parameter updates of Keras's optimizers, in place on flat arrays.

The math, once (``p`` parameter, ``g`` gradient, ``lr`` learning rate, ``t >= 1`` the step number)::

    SGD:      v = momentum v - lr g;   p += v             (nesterov: p += momentum v - lr g)
    Adam:     m += (g - m)(1 - b1);    v += (g^2 - v)(1 - b2)
              p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    RMSprop:  ms = rho ms + (1 - rho) g^2;   p -= lr g / (sqrt(ms) + eps)

Files: :mod:`.reference`, :mod:`.loops`, :mod:`.cuda`, :mod:`.cpu`. Contract::

    sgd_update(param, grad, velocity, lr, momentum, nesterov)
    adam_update(param, grad, m, v, lr, beta1, beta2, eps, t)
    rmsprop_update(param, grad, ms, lr, rho, eps)
"""
FUNCTIONS = ("sgd_update", "adam_update", "rmsprop_update")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "cuda": "cuda"}
