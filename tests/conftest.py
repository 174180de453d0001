"""Test configuration shared by the whole suite.

The CUDA tests run on Numba's CUDA simulator when this machine has no NVIDIA GPU. The simulator must be
switched on before numba is first imported, so it happens here, at the top of the first conftest.
"""
import os
import shutil

if "NUMBA_ENABLE_CUDASIM" not in os.environ:
    has_gpu = os.path.exists("/dev/nvidia0") or shutil.which("nvidia-smi") is not None
    if not has_gpu:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

from hypothesis import HealthCheck, settings  # noqa: E402

# 'ci' keeps the whole suite inside its time budget on a 2-core machine; 'thorough' is for local digging:
# HYPOTHESIS_PROFILE=thorough pytest
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
