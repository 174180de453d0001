"""``python -m bench``: runs bench/run.py, the suite against PyTorch CPU, Keras 3 and scikit-learn (see its docstring)."""
from .run import main

main()
