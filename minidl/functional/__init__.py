"""Differentiable operations backed by the hand-written kernels."""
