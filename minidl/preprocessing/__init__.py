"""Keras's ``keras.preprocessing`` as scripts use it: :mod:`.image` (``ImageDataGenerator``)."""
from . import image

__all__ = ["image"]
