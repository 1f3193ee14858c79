"""The one exception hierarchy of maskcodec.

Every error that maskcodec raises on bad input is a :class:`MaskcodecError`, so
a pipeline can catch that one class. The subclasses say which boundary was
crossed:

- :class:`InvalidInputError`: the caller passed an argument the API does not
  accept (wrong dtype, shape, ``keep`` outside (0, 1], unknown inpainter...).
  It is also a :class:`ValueError`.
- :class:`FormatError`: bytes that are not a valid maskcodec stream. Its
  subclasses name the fault: :class:`TruncatedError`, :class:`ChecksumError`,
  :class:`UnsupportedVersionError`, :class:`LimitExceededError`,
  :class:`ChainError` (refinement files out of order, a link missing, or
  files of different images).
- :class:`ModelError`: a model is missing, does not match the hash a file asks
  for, or does not fit the image.
- :class:`MissingDependencyError`: an optional package that a feature needs is
  not installed; the message names the ``pip install`` extra. It is also an
  :class:`ImportError`.

One warning, :class:`ReferenceCoderWarning`, says (once a process) that the
survivors are coded by the numpy reference because the C extension did not load.
"""
from __future__ import annotations

__all__ = [
    "MaskcodecError",
    "InvalidInputError",
    "FormatError",
    "TruncatedError",
    "ChecksumError",
    "UnsupportedVersionError",
    "LimitExceededError",
    "ChainError",
    "ModelError",
    "MissingDependencyError",
    "ReferenceCoderWarning",
]

# optional module -> the extra of pyproject.toml that installs it
EXTRAS = {"onnxruntime": None, "torch": "train", "onnx": "train", "matplotlib": "bench", "skimage": "bench",
          "imagecodecs": "bench", "pdr": "products", "astropy": "products", "numcodecs": "pipeline",
          "zarr": "pipeline", "dask": "pipeline", "distributed": "pipeline"}


class MaskcodecError(Exception):
    """Base class of every error maskcodec raises on purpose."""


class InvalidInputError(MaskcodecError, ValueError):
    """An argument of a maskcodec call is not acceptable."""


class FormatError(MaskcodecError):
    """The bytes are not a valid maskcodec stream."""


class TruncatedError(FormatError):
    """The stream ends before a structure it announces is complete."""


class ChecksumError(FormatError):
    """A CRC32 stored in the stream does not match the bytes it covers."""


class UnsupportedVersionError(FormatError):
    """The stream's major version (or a mode it names) is not one this decoder reads."""


class LimitExceededError(FormatError):
    """The header announces more than the decoder's limits allow (dimensions, sizes)."""


class ChainError(FormatError):
    """Refinement files do not form a chain: a wrong order, a missing link, or a file of another image."""


class ModelError(MaskcodecError):
    """A model is missing, corrupt, the wrong one, or does not fit the image."""


class MissingDependencyError(MaskcodecError, ImportError):
    """An optional package that a feature needs is not installed.

    Examples
    --------
    >>> print(MissingDependencyError("matplotlib", "maskcodec bench's figures"))
    maskcodec bench's figures needs matplotlib, which is not installed: pip install 'maskcodec[bench]'
    """

    def __init__(self, module: str, purpose: str):
        extra = EXTRAS.get(module.split(".")[0])
        how = f"pip install 'maskcodec[{extra}]'" if extra else f"pip install {module}"
        super().__init__(f"{purpose} needs {module}, which is not installed: {how}")
        self.module = module


class ReferenceCoderWarning(UserWarning):
    """The C survivor coder (the extension ``maskcodec.survivors._flight``) did not load, so the numpy reference
    codes the survivors: the same bytes, many times slower. Issued once a process, when it first runs."""
