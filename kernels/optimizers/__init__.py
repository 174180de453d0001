"""optimizers: the parameter updates of Keras's optimizers, in place on flat arrays.

The math, once (``p`` parameter, ``g`` gradient, ``lr`` learning rate, ``t >= 1`` the step number)::

    SGD:      v = momentum v - lr g;   p += v             (nesterov: p += momentum v - lr g)
    Adam:     m += (g - m)(1 - b1);    v += (g^2 - v)(1 - b2)
              p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    RMSprop:  ms = rho ms + (1 - rho) g^2;   p -= lr g / sqrt(ms + eps)          (Keras 3: eps inside)
    Adagrad:  acc += g^2;                   p -= lr g / sqrt(acc + eps)
    Adadelta: Eg = rho Eg + (1 - rho) g^2;  d = -sqrt(Ed + eps) g / sqrt(Eg + eps)
              Ed = rho Ed + (1 - rho) d^2;  p += lr d
    Nadam:    m += (g - m)(1 - b1);    v += (g^2 - v)(1 - b2)
              p -= lr (m_coef m + g_coef g) / (sqrt(v_coef v) + eps)
              (m_coef, g_coef, v_coef depend on t only: minidl.optimizers.Nadam.coefficients)
    weight decay (before any update, Keras's decoupled form): p -= p decay lr

Files: :mod:`.reference`, :mod:`.loops`, :mod:`.cuda`, :mod:`.cpu`. Contract::

    sgd_update(param, grad, velocity, lr, momentum, nesterov)
    adam_update(param, grad, m, v, lr, beta1, beta2, eps, t)
    rmsprop_update(param, grad, ms, lr, rho, eps)
    adagrad_update(param, grad, acc, lr, eps)
    adadelta_update(param, grad, acc_grad, acc_delta, lr, rho, eps)
    nadam_update(param, grad, m, v, lr, beta1, beta2, eps, m_coef, g_coef, v_coef)
    weight_decay_update(param, lr, decay)
"""
FUNCTIONS = ("sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "cuda": "cuda"}
