"""Optional packages, imported when a feature needs them, with one error when they are missing."""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`~maskcodec.errors.MissingDependencyError` naming the extra.

    Examples
    --------
    >>> require("json", "reading a manifest").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(module, purpose) from None
