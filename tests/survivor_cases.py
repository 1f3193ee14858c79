"""The survivors a coder gets for an image, shared by the tests that compare the C coder with the reference."""
from __future__ import annotations

import numpy as np

from maskcodec.masks import keep_to_threshold, keys_at, kept_indices


def kept_survivors(img: np.ndarray, keep: float, kind: str, seed: int, previous: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices, keys and values ``(n, C)`` (int64) of the pixels of ``img`` (H, W, C) kept at ``keep``
    (those above ``previous``, a refinement's, when given)."""
    h, w, c = img.shape
    idx = kept_indices(h, w, keep_to_threshold(keep), seed, kind)
    keys = keys_at(idx, w, seed, kind)
    if previous is not None:
        new = keys > keep_to_threshold(previous)
        idx, keys = idx[new], keys[new]
    return idx, keys, img.reshape(-1, c)[idx].astype(np.int64)


def corruptions(payload: bytes, rng) -> list[bytes]:
    """Damaged copies of a payload: truncations, bytes appended, bit flips, tails overwritten at random, all zeros,
    all ones and random bytes of twice its length."""
    n = len(payload)
    out = [payload[:k] for k in sorted({0, 1, 3, 4, 5, n // 2, n - 2, n - 1}) if 0 <= k < n]
    out += [payload + b"\x00", payload + b"\xff\xff"]
    for _ in range(12):
        b = bytearray(payload)
        at = int(rng.integers(0, n))
        b[at] ^= 1 << int(rng.integers(0, 8))
        out.append(bytes(b))
    for _ in range(4):
        b = bytearray(payload)
        at = int(rng.integers(0, n))
        b[at:] = rng.integers(0, 256, n - at, dtype=np.uint8).tobytes()
        out.append(bytes(b))
    out += [bytes(n), b"\xff" * n, rng.integers(0, 256, 2 * n, dtype=np.uint8).tobytes()]
    return out


def body_corruptions(body: bytes, rng) -> list[bytes]:
    """Damaged copies of a segment's body (spec 11.3: payload_size, the range code, zero padding): the corruptions of
    :func:`corruptions`, and payload_size one less, one more, 0, 3, the whole body, past it; a non-zero byte of
    padding (first and last), where the body has padding."""
    out = corruptions(body, rng)
    size = int.from_bytes(body[:2], "little")
    for s in sorted({size - 1, size + 1, 0, 3, len(body) - 2, len(body) - 1, 65535}):
        if 0 <= s < 65536:
            out.append(s.to_bytes(2, "little") + body[2:])
    for at in sorted({2 + size, len(body) - 1}):
        if 2 + size <= at < len(body):
            b = bytearray(body)
            b[at] = 1
            out.append(bytes(b))
    return out
