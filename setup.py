"""Installs minidl; the top-level folder kernels/ becomes the subpackage minidl.kernels."""
from setuptools import find_packages, setup

# Every subpackage is found, so a new folder needs no edit here; kernels/ is installed as minidl.kernels.
PACKAGES = (
    ["minidl"] + [f"minidl.{p}" for p in find_packages("minidl")]
    + ["minidl.kernels"] + [f"minidl.kernels.{p}" for p in find_packages("kernels")]
)

setup(
    name="minidl",
    version="0.1.0",
    description="A small deep-learning framework written from scratch on NumPy and Numba.",
    python_requires=">=3.10",
    packages=PACKAGES,
    package_dir={"minidl.kernels": "kernels"},
    package_data={"minidl.datasets": ["data/*.npz"]},
    include_package_data=True,
    install_requires=["numpy>=1.24", "numba>=0.59", "scipy>=1.10", "matplotlib>=3.6"],
    extras_require={
        # numba-cuda brings numba.cuda, whose simulator runs the CUDA tests on machines without a GPU.
        # mpi4py + mpich (the distributed extra) install in about a second from wheels; the dev extra pulls
        # them in so that the MPI tests run in the ordinary test command.
        "dev": ["pytest>=7", "hypothesis>=6.80", "numba-cuda>=0.20", "mpi4py>=4.0", "mpich>=4.1"],
        # Data parallelism over MPI: mpi4py, and the mpich wheel, which brings libmpi and mpiexec.
        "distributed": ["mpi4py>=4.0", "mpich>=4.1"],
        "cuda": ["numba-cuda[cu12]>=0.20"],
        "bench": ["torch", "keras>=3", "scikit-learn>=1.3"],
    },
)
