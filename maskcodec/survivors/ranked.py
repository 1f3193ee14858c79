"""Ranked coding (``spec/format.md`` section 6.7): predictive coding's survivors in rank order, range coded.

The survivors are predicted and quantized as in predictive coding
(:mod:`.predictive`, spec 6.5: level by level, each level from the known pixels
of the levels below it, the error quantized within ``max_error``), but they travel in
*rank order*, ascending key (ties in scan order), each pixel's planes together,
and their codes are range coded (:mod:`maskcodec.entropy.range_coder`) under
adaptive counts, one model per plane and context:

- a code ``z`` is a *token* (``z`` itself below 8; else 8 plus twice the
  exponent above 3, plus the bit below the leading one) and, for a token of 8 or
  more, the ``bit_length(z) - 2`` bits below those two, coded raw;
- the token is coded with its plane and context's model; nothing is sent about
  the models, which start from a fixed shape and learn as they code.

So no code costs a whole bit when the residuals are small (a flat area at a large
``max_error`` costs a few hundredths of a bit a sample), the file needs no
tables, and a prefix of the survivors in rank order is the mask of a smaller
threshold, coded the same way.

:func:`encode` and :func:`decode` run the flight core's C coder (``flight/src/ranked.c``, the extension
``maskcodec.survivors._flight`` that ``pip install`` builds) when it loads, else the numpy reference
:func:`encode_reference` and :func:`decode_reference`, saying so once with a
:class:`~maskcodec.errors.ReferenceCoderWarning`; both give the same bytes and values.
:data:`IMPLEMENTATION` names the one that runs. Images of more than :data:`C_CHANNELS` bands (spectral
cubes) are coded by the reference in any case.

Examples
--------
>>> import maskcodec
>>> from maskcodec.masks import keep_to_threshold, keys_at, kept_indices
>>> img = maskcodec.sample_image("navcam")[:96, :128]
>>> h, w = img.shape
>>> idx = kept_indices(h, w, keep_to_threshold(0.25), 7)
>>> keys = keys_at(idx, w, 7)
>>> values = img.reshape(-1, 1)[idx]
>>> payload, recon = encode(idx, keys, values, Prior.empty(1), (h, w), 8, 0, 2)
>>> bool(np.abs(recon - values).max() <= 2)
True
>>> bool(np.array_equal(decode(payload, idx, keys, Prior.empty(1), (h, w), 8, 0, 2, 1), recon))
True
>>> encode_reference(idx, keys, values, Prior.empty(1), (h, w), 8, 0, 2)[0] == payload   # whichever coder ran
True
"""
from __future__ import annotations

import warnings

import numpy as np

from ..entropy.range_coder import AdaptiveDecoder, AdaptiveEncoder
from ..errors import InvalidInputError, ReferenceCoderWarning
from .predictive import CONTEXTS, Prior, quantized_levels, reconstructed

try:
    from ._flight import ranked_decode as _c_decode, ranked_encode as _c_encode
except ImportError as e:  # not built: a checkout used without pip install, or an install without a C compiler
    _c_encode = _c_decode = None
    IMPLEMENTATION = f"numpy reference (the C extension did not load: {e})"
else:
    IMPLEMENTATION = "C (flight core)"

C_CHANNELS = 255  # the most channels the C coder takes (mc_ranked_params); spectral cubes of more run in numpy

__all__ = ["Prior", "encode", "decode", "encode_reference", "decode_reference", "IMPLEMENTATION", "C_CHANNELS",
           "codes", "pack", "tokens", "token_of", "code_of", "LEAST_PAYLOAD"]

SMALL = 8          # codes below 8 are their own token
LEAST_PAYLOAD = 4  # the fewest bytes a range-coded stream has


def tokens(bits: int) -> int:
    """How many tokens codes of ``bits`` significant bits need: ``2 * bits + 2`` (at least 8).

    >>> tokens(8), tokens(12), tokens(16)
    (18, 26, 34)
    """
    return max(SMALL, 2 * bits + 2)


def token_of(z: int) -> tuple[int, int, int]:
    """The token of code ``z``, its raw bits and how many there are.

    >>> [token_of(z) for z in (0, 7, 8, 11, 12, 16, 255)]
    [(0, 0, 0), (7, 0, 0), (8, 0, 2), (8, 3, 2), (9, 0, 2), (10, 0, 3), (17, 63, 6)]
    """
    if z < SMALL:
        return z, 0, 0
    e = z.bit_length()
    n = e - 2
    return SMALL + 2 * (e - 4) + ((z >> n) & 1), z & ((1 << n) - 1), n


def code_of(token: int, raw: int) -> int:
    """The code of ``token`` and its raw bits (the inverse of :func:`token_of`).

    >>> code_of(17, 63), code_of(8, 3)
    (255, 11)
    """
    if token < SMALL:
        return token
    n = raw_bits(token)
    return (1 << (n + 1)) | ((token & 1) << n) | raw


def raw_bits(token: int) -> int:
    """How many raw bits follow ``token``."""
    return 0 if token < SMALL else (token - SMALL) // 2 + 2


def rank_order(level_keys: np.ndarray) -> np.ndarray:
    """The order of a level's pixels (given in scan order) in rank order: ascending key, ties in scan order."""
    return np.argsort(level_keys, kind="stable")


def codes(idx: np.ndarray, keys: np.ndarray, values: np.ndarray, prior: Prior, shape: tuple[int, int], bits: int,
          transform: int, max_error: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Each level's contexts ``(T,)`` and codes ``(T, planes)`` in rank order, and the reconstructed values."""
    levels, recon = quantized_levels(idx, keys, values, prior, shape, bits, transform, max_error)
    out = []
    for level in levels:
        order = rank_order(keys[level.at])
        out.append((level.contexts[order], level.codes[order]))
    return out, recon


def encode(idx: np.ndarray, keys: np.ndarray, values: np.ndarray, prior: Prior, shape: tuple[int, int], bits: int,
           transform: int, max_error: int) -> tuple[bytes, np.ndarray]:
    """The payload coding ``values`` ``(N, C)`` of the pixels ``idx`` (ascending) with their mask ``keys``, and
    the values ``(N, C)`` (int64) the decoder will reconstruct (``values`` itself when ``max_error`` is 0):
    :func:`encode_reference`'s, by the C coder where it is built."""
    if _c_encode is None or values.shape[1] > C_CHANNELS:
        _reference_runs()
        return encode_reference(idx, keys, values, prior, shape, bits, transform, max_error)
    h, w = int(shape[0]), int(shape[1])
    channels = values.shape[1]
    payload, recon = _c_encode(h, w, channels, int(bits), int(transform), int(max_error), *_survivors(idx, keys, h * w),
                               _uint(values, np.uint16, "values"), *_survivors(prior.idx, None, h * w),
                               _uint(prior.values, np.uint16, "the prior's values"))
    return payload, np.frombuffer(recon, np.uint16).reshape(-1, channels).astype(np.int64)


def encode_reference(idx: np.ndarray, keys: np.ndarray, values: np.ndarray, prior: Prior, shape: tuple[int, int],
                     bits: int, transform: int, max_error: int) -> tuple[bytes, np.ndarray]:
    """:func:`encode` in numpy: the reference the C coder matches byte for byte."""
    levels, recon = codes(idx, keys, values, prior, shape, bits, transform, max_error)
    return pack(levels, bits), recon


def pack(levels: list[tuple[np.ndarray, np.ndarray]], bits: int) -> bytes:
    """The range-coded payload of the codes ``(T, planes)`` of each level with their contexts ``(T,)``, in the
    order given (rank order): each pixel's planes in turn, one model per plane and context."""
    planes = levels[0][1].shape[1] if levels else 0
    enc = AdaptiveEncoder(planes * CONTEXTS, tokens(bits))
    for ctx, level_codes in levels:
        for x, row in zip(ctx.tolist(), level_codes.tolist()):
            for p, z in enumerate(row):
                enc.code(p * CONTEXTS + x, *token_of(z))
    return enc.finish()


def decode(payload: bytes, idx: np.ndarray, keys: np.ndarray, prior: Prior, shape: tuple[int, int], bits: int,
           transform: int, max_error: int, channels: int) -> np.ndarray:
    """The values ``(N, C)`` (int64) a ranked payload codes for the pixels ``idx`` with ``keys`` (spec 6.7),
    checked: every code below RANGE, no interval overrun, every byte used (a
    :class:`~maskcodec.errors.FormatError` otherwise). :func:`decode_reference`'s, by the C coder where it is
    built."""
    if _c_decode is None or channels > C_CHANNELS:
        _reference_runs()
        return decode_reference(payload, idx, keys, prior, shape, bits, transform, max_error, channels)
    h, w = int(shape[0]), int(shape[1])
    values = _c_decode(h, w, int(channels), int(bits), int(transform), int(max_error), payload,
                       *_survivors(idx, keys, h * w), *_survivors(prior.idx, None, h * w),
                       _uint(prior.values, np.uint16, "the prior's values"))
    return np.frombuffer(values, np.uint16).reshape(-1, channels).astype(np.int64)


def decode_reference(payload: bytes, idx: np.ndarray, keys: np.ndarray, prior: Prior, shape: tuple[int, int],
                     bits: int, transform: int, max_error: int, channels: int) -> np.ndarray:
    """:func:`decode` in numpy: the reference the C coder matches value for value, refusing what it refuses."""
    dec = AdaptiveDecoder(payload, channels * CONTEXTS, tokens(bits), "the ranked payload")

    def read(at: np.ndarray, ctx: np.ndarray) -> np.ndarray:
        order = rank_order(keys[at])
        out = np.empty((at.size, channels), np.int64)
        for i, x in zip(order.tolist(), ctx[order].tolist()):
            for p in range(channels):
                t = dec.symbol(p * CONTEXTS + x)
                out[i, p] = code_of(t, dec.raw(raw_bits(t)))
        return out

    recon = reconstructed(idx, keys, prior, shape, bits, transform, max_error, channels, read)
    dec.finish()
    return recon


_told = False


def _reference_runs() -> None:
    """Say once a process that the numpy reference codes the survivors because the extension did not load (not
    for the images of more than :data:`C_CHANNELS` bands that the C coder leaves to it)."""
    global _told
    if not _told and _c_encode is None:
        _told = True
        warnings.warn(f"maskcodec codes survivors with the {IMPLEMENTATION}: the same bytes, many times slower; "
                      f"pip install maskcodec (with a C compiler) builds the extension", ReferenceCoderWarning,
                      stacklevel=3)


def _uint(a: np.ndarray, dtype, what: str) -> np.ndarray:
    """``a`` as a C-contiguous array of the unsigned ``dtype``, refused if a value would not fit."""
    a = np.asarray(a)
    if a.dtype != dtype and not np.can_cast(a.dtype, dtype, "safe") and a.size:
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() > np.iinfo(dtype).max:
            raise InvalidInputError(f"{what} must be integers in 0..{np.iinfo(dtype).max}")
    return np.ascontiguousarray(a, dtype)


def _survivors(idx: np.ndarray, keys: np.ndarray | None, pixels: int) -> tuple[np.ndarray, ...]:
    """The flat indices as uint32 (and the keys, when given): an index outside the image is refused here, before
    a cast could wrap it into it (the C coder checks the order and the bounds again)."""
    idx = np.asarray(idx)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= pixels):
        raise InvalidInputError(f"survivor indices must lie in the image's {pixels} pixels")
    idx = np.ascontiguousarray(idx, np.uint32)
    return (idx,) if keys is None else (idx, _uint(keys, np.uint32, "mask keys"))
