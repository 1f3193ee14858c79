"""Mask mode (mode 0): keep a seeded subset of the pixels and send their values, exactly or within a bound.

The single container (:mod:`.container`, format 1.0) codes the kept pixels of
one image in one payload; refinements (:mod:`.chains`) add the pixels of a
larger keep; the lean segmented stream (:mod:`.stream`, format 4.0) is written
as the rows arrive and survives lost packets. :mod:`.fields` says what the mode's
header fields mean. The mode's contract (:mod:`maskcodec.modes`) is below.
"""
from __future__ import annotations

from . import container
from .stream import StreamEncoder

__all__ = ["NAME", "encode", "describe", "contents", "check", "decode"]

NAME = "mask"
describe = container.describe
contents = container.contents


def encode(image, opts) -> bytes:
    """The mask-mode file of a checked ``image``: a single container, or with a segment size the stream
    :class:`StreamEncoder` writes (fed the whole frame)."""
    if opts.segment_size is None:
        return container.encode(image, opts)
    encoder = StreamEncoder.from_options(image.shape, image.dtype, opts)  # it checks the rows' bits as they arrive
    return encoder.write(image) + encoder.close()


def check(header, payload: bytes) -> None:
    """Checks 10-12 of a container: its kept values decoded (a refinement's only with its chain)."""
    if not header.refines:
        container.read(header, payload)


def decode(header, payload: bytes, inpainter: str, estimate: bool, fill):
    """The image of a mask-mode container: its kept pixels, the rest filled by ``fill`` with ``inpainter``."""
    return fill(*container.read(header, payload), inpainter, estimate)
