"""``python -m bench``: runs bench/run.py (the training-epoch suite against PyTorch CPU)."""
from .run import main

main()
