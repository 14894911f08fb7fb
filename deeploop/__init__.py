"""deeploop: a Jupyter-native research workbench.

Loops run on one harness and keep everything as plain files under ``runs/``;
see DESIGN.md for the concepts and the formats that are contracts.
"""
from .errors import DeeploopError, InputError

__version__ = "0.1.0"

__all__ = ["DeeploopError", "InputError", "__version__"]
