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
