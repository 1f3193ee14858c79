"""The bytes of a maskcodec file, and nothing else (``spec/format.md``).

Two framings share one 36-byte fixed header (:mod:`.fixed`; the 4.0 stream
carries it inside its image description):

- format 1.0, the single container (:mod:`.container`, magic ``\\x89MCX``):
  header, header CRC32, one payload, payload CRC32; in mask or latent mode;
- format 4.0, the lean segmented stream (:mod:`.stream`, sync ``\\x89MCL``):
  self-contained segments for lossy links, written as the rows arrive; mask mode only.

:func:`identify` is the one place that knows which framing a file has.
:mod:`.zstd_frame` is the one Zstandard frame a payload may be. This package
imports neither the masks, the survivor codings nor any model: each reader
returns the fields and the payload as stored and takes the mode's checks as a
parameter; the modes (:mod:`maskcodec.modes`) give the fields their meaning.
"""
from __future__ import annotations

from ..errors import UnsupportedVersionError
from . import container, stream

__all__ = ["FRAMINGS", "RETIRED", "MAGICS", "identify", "container", "stream"]

FRAMINGS = {container.MAGIC: "container", stream.SYNC: "stream"}  # first four bytes -> framing
RETIRED = {b"\x89MCS": "format 2.0 segmented streams were retired (spec section 13); "
                       "re-encode the image with segment_size (--segment-size) to get a format 4.0 stream"}
MAGICS = tuple(FRAMINGS)


def identify(data) -> str:
    """Which framing ``data`` starts with: ``"stream"`` (3.0, or a prefix of its sync marker) or
    ``"container"`` (1.0, and anything else, which the container's parser then rejects). A retired
    framing is an :class:`~maskcodec.errors.UnsupportedVersionError`.

    Examples
    --------
    >>> identify(b"\\x89MCL..."), identify(b"\\x89MCX..."), identify(b"")
    ('stream', 'container', 'container')
    """
    head = bytes(data[:4]) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    if head in RETIRED:
        raise UnsupportedVersionError(RETIRED[head])
    return next((name for magic, name in FRAMINGS.items() if head and magic.startswith(head)), "container")
