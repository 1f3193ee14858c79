"""The records every stage shares: decoder limits, the header a file describes, and the decode reports.

This module sits at the bottom of the package with :mod:`maskcodec.errors`:
it imports nothing of maskcodec, so the framing, the modes, the inpainting
stage and the public API can all hand these records to each other.

- :class:`Limits`: what a decoder agrees to allocate;
- :class:`Header` and its two modes, :class:`MaskHeader` and :class:`LatentHeader`
  (with its :class:`LatentFields`): what a file says about itself
  (``maskcodec.inspect``, spec section 10.1);
- :class:`DecodeReport`: what filled an image and how good it is estimated to be;
- :class:`SalvageReport`: what a salvage decode of a damaged stream recovered.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

__all__ = ["Limits", "Header", "MaskHeader", "LatentHeader", "LatentFields", "DecodeReport", "SalvageReport"]


@dataclass(frozen=True)
class Limits:
    """What a decoder agrees to allocate. Files beyond these raise
    :class:`~maskcodec.errors.LimitExceededError` before any allocation.

    ``max_samples`` bounds the decoded image, height x width x channels (a
    hostile header cannot ask for 16384 x 16384 pixels of 1024 channels).

    Examples
    --------
    >>> Limits().max_pixels, Limits().max_samples
    (268435456, 268435456)
    """

    max_pixels: int = 1 << 28          # 16384 x 16384
    max_side: int = 1 << 16
    max_channels: int = 1024
    max_metadata: int = 1 << 20
    max_payload_raw: int = 1 << 31
    max_latent_pixels: int = 1 << 24   # padded image a latent model runs on whole (4096 x 4096)
    max_samples: int = 1 << 28         # height x width x channels of the decoded image (added last: positions kept)


@dataclass(frozen=True)
class LatentFields:
    """The latent block of a latent-mode file (spec section 12): tensor shape, quantization and coder.

    ``coder`` ``"zstd"``: the payload is a zstd frame of uint8 values, and
    ``offsets`` and ``steps`` are the per-channel float32 values, as Python
    floats (exactly); a value ``q`` of channel ``c`` stands for
    ``offsets[c] + q * steps[c]`` computed in float32. ``coder``
    ``"context"``: the payload is the model's range code of the integer
    latents themselves (spec section 12.6); there are no offsets and steps.
    """

    channels: int
    height: int
    width: int
    factor: int
    quantization: str
    offsets: tuple[float, ...] = ()
    steps: tuple[float, ...] = ()
    coder: str = "zstd"


@dataclass(frozen=True, kw_only=True)
class Header:
    """What every maskcodec file says about itself, whatever its mode (fields in spec section 10.1).

    A file's header is a :class:`MaskHeader` or a :class:`LatentHeader`; ``mode`` says which.
    """

    version: tuple[int, int]
    mode: str
    shape: tuple[int, ...]
    dtype: str
    bits: int
    channels: int
    model_id: str
    model_sha256: str
    metadata: dict = field(default_factory=dict)
    header_size: int = 0
    payload_size: int = 0
    payload_raw_size: int = 0
    file_size: int = 0

    # spec section 10.1 describes every file with one set of keys: those of the other mode take these values
    _NEUTRAL = {}

    def to_json(self) -> dict:
        """The header as a JSON-ready dict (the form ``maskcodec info --json`` prints, spec section 10.1):
        every key of both modes, the other mode's at their neutral values; ``latent`` for latent-mode files only."""
        d = dict(self._NEUTRAL) | asdict(self)
        d["version"] = f"{self.version[0]}.{self.version[1]}"
        d["shape"] = list(self.shape)
        return d


_MASK_NEUTRAL = dict(seed=0, keep=0.0, keep_threshold=0, transform=0, survivors=0, segments=0, mask_kind=0,
                     coding="", max_error=0, previous_threshold=None, refines="")


@dataclass(frozen=True, kw_only=True)
class MaskHeader(Header):
    """The header of a mask-mode file or stream: the mask (seed, threshold, kind), the kept pixels' count and
    transform, how their values are coded, and for a refinement the chain it extends.

    ``coding`` is ``"ranked"``, ``"predictive"`` or ``"scan"`` for a single container (spec sections 6.7, 6.5
    and 6),
    ``"segment"`` for a segmented stream (section 11); ``segments`` counts a stream's segments (0 for a
    single container); ``max_error`` bounds every kept value's error.
    """

    mode: str = "mask"
    seed: int
    keep: float
    keep_threshold: int
    transform: int
    survivors: int
    mask_kind: int = 0   # 0 hash, 1 blue-noise tile (spec section 5)
    coding: str = "ranked"
    max_error: int = 0
    previous_threshold: int | None = None  # a refinement (6.6): the threshold of the chain it extends
    refines: str = ""     # a refinement: SHA-256 (hex) of the file it extends
    segments: int = 0


@dataclass(frozen=True, kw_only=True)
class LatentHeader(Header):
    """The header of a latent-mode file: the latent block (:class:`LatentFields`) of the model it names."""

    mode: str = "latent"
    latent: LatentFields

    _NEUTRAL = _MASK_NEUTRAL

    def to_json(self) -> dict:
        d = super().to_json()
        d["latent"] |= {"offsets": list(self.latent.offsets), "steps": list(self.latent.steps)}
        return d


@dataclass(frozen=True)
class DecodeReport:
    """What filled a mask-mode file, and how good the held-back survivors say it is.

    Attributes
    ----------
    inpainter : str
        The inpainter that filled the image.
    estimated_psnr_db : float or None
        Estimated PSNR of the decoded image against the original (on the
        file's sample scale, the kept pixels counted with error 0); None when
        too few survivors could be held back, or for a latent file; ``inf``
        when every pixel was kept.
    candidates : dict of str to float
        The estimated PSNR of each inpainter tried (``auto`` tries the model,
        ``linear`` and ``nconv``; a named inpainter only itself).
    held_back : int
        Survivors the estimate was measured on.
    interval_db : tuple of float, or None
        The estimate's 90% interval (low, high), dB: on training frames the
        true PSNR fell inside it on 90% of frame-keeps (see
        :mod:`maskcodec.inpainting.trial`); None without an estimate.
    mode : str
        ``"mask"``, or ``"latent"`` (then ``inpainter`` names the latent
        model, and there is no estimate: a latent file keeps no pixels).
    """

    inpainter: str
    estimated_psnr_db: float | None = None
    candidates: dict[str, float] = field(default_factory=dict)
    held_back: int = 0
    mode: str = "mask"
    interval_db: tuple[float, float] | None = None

    def __str__(self) -> str:
        if self.mode == "latent":
            return f"decoded by latent model {self.inpainter} (no PSNR estimate: a latent file keeps no pixels)"
        if self.estimated_psnr_db is None:
            return f"inpainted by {self.inpainter}" + (
                f" (no PSNR estimate: only {self.held_back} survivors to hold back)" if self.held_back else "")
        others = ", ".join(f"{k} {v:.2f} dB" for k, v in self.candidates.items() if k != self.inpainter)
        interval = (f" (90% interval {self.interval_db[0]:.1f}-{self.interval_db[1]:.1f} dB)"
                    if self.interval_db and math.isfinite(self.estimated_psnr_db) else "")
        return (f"inpainted by {self.inpainter}, estimated PSNR {self.estimated_psnr_db:.2f} dB{interval}"
                f"{'; other candidates: ' + others if others else ''}; from {self.held_back} held-back survivors")


@dataclass
class SalvageReport:
    """What a salvage decode recovered (see :func:`maskcodec.decode` with ``strict=False``)."""

    segments_expected: int
    segments_received: int
    lost_segments: list[int] = field(default_factory=list)
    survivors_expected: int = 0
    survivors_recovered: int = 0
    bytes_skipped: int = 0

    @property
    def fraction_recovered(self) -> float:
        """Fraction of the kept pixels that arrived intact."""
        return self.survivors_recovered / self.survivors_expected if self.survivors_expected else 1.0

    def __str__(self) -> str:
        return (f"received {self.segments_received} of {self.segments_expected} segments "
                f"(lost {self.lost_segments}), {self.fraction_recovered:.1%} of kept pixels recovered, "
                f"{self.bytes_skipped} damaged bytes skipped")
