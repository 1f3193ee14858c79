"""The inpainting networks that ``maskcodec`` ships, as torch modules.

- :class:`ResidualUNet`: a small U-Net that reads the masked image, the mask
  and a built-in normalized convolution fill, and predicts a correction on
  top of the fill (input kind ``"masked+mask"``); the design of the
  ``default`` models.
- :class:`PaperCAE`: the convolutional autoencoder of the paper, reading the
  masked image alone (input kind ``"masked"``).
- :class:`LatentCAE`: the autoencoder trained for compression whose rounded
  bottleneck latent mode sends (with :class:`GDN` layers).

All are fully convolutional; their input sides must be multiples of
:attr:`multiple`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InvalidInputError

__all__ = ["NormalizedConvolution", "ResidualUNet", "PaperCAE", "LatentCAE", "GDN", "build", "input_kind",
           "count_parameters"]


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU(inplace=True))


class NormalizedConvolution(nn.Module):
    """A fixed (untrained) multi-scale normalized convolution fill, in torch.

    The same scheme as :func:`maskcodec.inpainting.classical.nconv`: kept values and
    their weights are averaged down an image pyramid; from the coarsest level
    (whose estimate starts at the image's mean kept value) down to the finest,
    each level blurs its values and weights, and where its blurred weight is
    high enough its own estimate replaces the upsampled coarser one.

    Parameters
    ----------
    channels : int
        Image channels.
    levels : int
        Pyramid levels below full resolution (input sides must be multiples
        of ``2**levels``).
    gain : float
        Blurred kept-pixel count at which a level trusts itself fully
        (times ``1 / gain``).
    """

    def __init__(self, channels: int, levels: int = 4, gain: float = 2.0):
        super().__init__()
        self.levels, self.gain = levels, gain
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (torch.outer(k, k) / 16)[None, None]
        self.register_buffer("kernel_values", k.repeat(channels, 1, 1, 1), persistent=False)
        self.register_buffer("kernel_weights", k, persistent=False)

    def _blur(self, a: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        return F.conv2d(a, kernel, padding=1, groups=kernel.shape[0])

    def forward(self, values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Fill ``values`` ``(N, C, H, W)`` (0 where unknown) from ``weights`` ``(N, 1, H, W)``."""
        vs, ws = [values], [weights]
        for _ in range(self.levels):
            vs.append(F.avg_pool2d(vs[-1], 2))
            ws.append(F.avg_pool2d(ws[-1], 2))
        est = vs[-1].sum((2, 3), keepdim=True) / ws[-1].sum((2, 3), keepdim=True).clamp_min(1e-8)
        est = est.expand_as(vs[-1])
        for level in range(self.levels, -1, -1):
            if level < self.levels:
                est = F.interpolate(est, scale_factor=2.0, mode="bilinear", align_corners=False)
            bv, bw = self._blur(vs[level], self.kernel_values), self._blur(ws[level], self.kernel_weights)
            conf = (bw * (self.gain * 4 ** level)).clamp(0.0, 1.0)
            est = conf * (bv / bw.clamp_min(1e-8)) + (1.0 - conf) * est
        return est


class ResidualUNet(nn.Module):
    """U-Net with additive skips that corrects a built-in normalized convolution fill.

    With ``base="nconv"`` the input is the masked image (``channels``
    channels, 0 where unknown) followed by the mask (input kind
    ``"masked+mask"``). A fixed :class:`NormalizedConvolution` fills the
    image; the U-Net reads the masked image, the mask and the fill, so it sees
    the exact kept values as well as a complete estimate, and its output is
    added to the fill. With ``base="linear"`` the input is the decoder's
    Delaunay ``linear`` inpainting and the mask (input kind
    ``"linear+mask"``): the U-Net reads it, the mask and the normalized
    convolution fill of its kept pixels, and its output is added to the
    linear inpainting. The last layer starts at zero, so the untrained
    network returns its base.

    With ``tolerance=True`` the input has one more channel, last: the
    tolerance plane (``max_error / (2**bits - 1)``, constant; input kinds
    ``"masked+mask+d"`` and ``"linear+mask+d"``), which tells the network how
    far the kept values may be from the originals. The first layer reads it
    (times ``tolerance_gain``, so that the small values of the plane weigh
    like the image's) after the channels of the network without it, so a
    network without it loads into this one with zero weights for the plane
    (:func:`maskcodec.tools.train.loop.load_weights`) and then computes
    exactly what it did.

    Parameters
    ----------
    channels : int
        Image channels (3 for RGB, 1 for gray).
    widths : sequence of int
        Feature widths per resolution level, finest first; each further level
        halves the resolution (strided convolution) and the decoder climbs
        back with 2x2 transposed convolutions.
    init : {"torch", "kaiming"}
        Initialisation of the hidden layers: torch's default, or He-normal
        weights and zero biases, which keeps the signal from fading with
        depth (it matters with few input channels).
    base : {"nconv", "linear"}
        What the output corrects (see above).
    tolerance : bool
        Read the tolerance plane (see above).
    tolerance_gain : float
        Fixed factor on the tolerance plane inside the network (32: the plane
        of ``max_error`` 8 at 8 bits reaches about 1).

    Examples
    --------
    >>> net = ResidualUNet(3, (8, 16))
    >>> net(torch.zeros(1, 4, 32, 32)).shape
    torch.Size([1, 3, 32, 32])
    """

    def __init__(self, channels: int, widths: tuple[int, ...] = (12, 24, 48, 96), init: str = "torch",
                 base: str = "nconv", tolerance: bool = False, tolerance_gain: float = 32.0):
        super().__init__()
        if base not in BASE_INPUT_KIND:
            raise InvalidInputError(f"unknown base {base!r}; expected one of {sorted(BASE_INPUT_KIND)}")
        self.channels, self.base = channels, base
        self.tolerance, self.tolerance_gain = bool(tolerance), float(tolerance_gain)
        self.in_channels = channels + 1 + self.tolerance
        self.fill = NormalizedConvolution(channels)
        self.multiple = max(2 ** (len(widths) - 1), 2 ** self.fill.levels)
        self.stem = _conv(2 * channels + 1 + self.tolerance, widths[0])
        self.down = nn.ModuleList(nn.Sequential(_conv(a, b, stride=2), _conv(b, b))
                                  for a, b in zip(widths[:-1], widths[1:]))
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.merge = nn.ModuleList(_conv(a, a) for a in widths[:-1])
        if init == "kaiming":
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    nn.init.zeros_(m.bias)
        elif init != "torch":
            raise InvalidInputError(f"unknown init {init!r}; expected 'torch' or 'kaiming'")
        self.head = nn.Conv2d(widths[0], channels, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.channels
        image, known = x[:, :c], x[:, c:c + 1]
        fill = self.fill(image * known, known)
        parts = [x[:, :c + 1], fill] + ([x[:, c + 1:c + 2] * self.tolerance_gain] if self.tolerance else [])
        skips = [self.stem(torch.cat(parts, dim=1))]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            y = merge(up(y) + skips.pop())
        return (fill if self.base == "nconv" else image) + self.head(y)


class PaperCAE(nn.Module):
    """The paper's convolutional autoencoder.

    Encoder: 3x3 convolutions with 16, 32, 64, 128 filters, each followed by
    ReLU and 2x2 max-pooling; decoder mirrored (128, 64, 32, 16) with 2x
    upsampling; a final 3x3 convolution to ``channels`` with a sigmoid.

    Parameters
    ----------
    channels : int
        Image channels in and out.
    widths : sequence of int
        Encoder filter counts (the paper's 16, 32, 64, 128).

    Examples
    --------
    >>> PaperCAE(3)(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 3, 32, 32])
    """

    def __init__(self, channels: int, widths: tuple[int, ...] = (16, 32, 64, 128)):
        super().__init__()
        self.channels, self.in_channels = channels, channels
        self.multiple = 2 ** len(widths)
        enc, cin = [], channels
        for w in widths:
            enc += [_conv(cin, w), nn.MaxPool2d(2)]
            cin = w
        dec = []
        for w in reversed(widths):
            dec += [_conv(cin, w), nn.Upsample(scale_factor=2, mode="nearest")]
            cin = w
        self.body = nn.Sequential(*enc, *dec, nn.Conv2d(cin, channels, 3, padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class GDN(nn.Module):
    """Generalized divisive normalization (Balle et al. 2016), or its inverse.

    ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)`` (the inverse multiplies).
    ``beta`` and ``gamma`` are kept non-negative by storing their square roots.
    """

    def __init__(self, channels: int, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.beta_root = nn.Parameter(torch.ones(channels))
        self.gamma_root = nn.Parameter(torch.eye(channels) * 0.1 ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = (self.gamma_root ** 2)[:, :, None, None]
        norm = torch.sqrt(F.conv2d(x * x, gamma, self.beta_root ** 2 + 1e-6))
        return x * norm if self.inverse else x / norm


class LatentCAE(nn.Module):
    """An autoencoder trained for compression: its rounded bottleneck is the message.

    The shape of Balle et al.'s factorized-prior model, scaled down for CPU
    training. Encoder: per level a 5x5 stride-2 convolution and GDN, then a
    3x3 convolution to ``latent_channels`` (the latent, ``1/16`` of the image
    side with four levels). Decoder: a 3x3 convolution and inverse GDN, then
    per level a 5x5 stride-2 transposed convolution (inverse GDN between
    levels) back to the image. The image is centred (``x - 0.5``) on the way
    in and back on the way out; the latent is scaled by ``latent_gain`` so
    that at initialisation it spans several quantization steps (an untrained
    encoder's outputs are far smaller than the rounding step, and a decoder
    that sees only rounding noise learns nothing).

    While training, the forward pass returns ``(image, bits per pixel)``:
    additive uniform noise in [-0.5, 0.5] stands in for rounding, and the rate
    is what a factorized Laplace model with a learned mean and scale per
    channel would spend on the noisy latents. In eval mode it returns the
    image decoded from rounded latents, which is what latent mode sends (see
    :mod:`maskcodec.modes.latent`).

    Parameters
    ----------
    channels : int
        Image channels.
    widths : sequence of int
        Features per level, finest first.
    latent_channels : int
        Channels of the latent tensor.
    latent_gain : float
        Fixed factor on the encoder's last convolution.

    Examples
    --------
    >>> net = LatentCAE(3, (8, 8), latent_channels=4)
    >>> y, bpp = net.train()(torch.rand(2, 3, 16, 16))
    >>> y.shape, net.encoder(torch.rand(1, 3, 16, 16)).shape, bool(bpp > 0)
    (torch.Size([2, 3, 16, 16]), torch.Size([1, 4, 4, 4]), True)
    """

    def __init__(self, channels: int, widths: tuple[int, ...] = (64, 64, 64, 96), latent_channels: int = 64,
                 latent_gain: float = 16.0):
        super().__init__()
        self.channels, self.in_channels, self.latent_channels = channels, channels, latent_channels
        self.multiple = 2 ** len(widths)
        enc, cin = [_Affine(shift=-0.5)], channels
        for w in widths:
            enc += [nn.Conv2d(cin, w, 5, stride=2, padding=2), GDN(w)]
            cin = w
        self.encoder = nn.Sequential(*enc, nn.Conv2d(cin, latent_channels, 3, padding=1),
                                     _Affine(scale=latent_gain))
        dec = [_Affine(scale=1 / latent_gain), nn.Conv2d(latent_channels, cin, 3, padding=1), GDN(cin, inverse=True)]
        for i in reversed(range(len(widths))):
            cout = widths[i - 1] if i else channels
            dec.append(nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1))
            if i:
                dec.append(GDN(cout, inverse=True))
            cin = cout
        self.decoder = nn.Sequential(*dec, _Affine(shift=0.5))
        self.mean = nn.Parameter(torch.zeros(latent_channels))
        self.log_scale = nn.Parameter(torch.zeros(latent_channels))

    def entropy_parameters(self) -> list[nn.Parameter]:
        """The rate model's parameters (trained faster than the networks, see the training loop)."""
        return [self.mean, self.log_scale]

    def bits(self, latent: torch.Tensor) -> torch.Tensor:
        """Bits the factorized Laplace model spends on (noisy or rounded) ``latent`` values."""
        mu, b = self.mean[None, :, None, None], self.log_scale.exp()[None, :, None, None]

        def cdf(v):
            z = (v - mu) / b
            return 0.5 + 0.5 * torch.sign(z) * (1 - torch.exp(-z.abs()))

        p = (cdf(latent + 0.5) - cdf(latent - 0.5)).clamp_min(1e-9)
        return -torch.log2(p).sum()

    def code(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The image decoded from the rounded latent, and that latent (what latent mode sends)."""
        z = torch.round(self.encoder(x))
        return self.decoder(z), z

    def forward(self, x: torch.Tensor):
        if not self.training:
            return self.code(x)[0]
        z = self.encoder(x)
        noisy = z + torch.empty_like(z).uniform_(-0.5, 0.5)
        return self.decoder(noisy), self.bits(noisy) / (x.shape[0] * x.shape[2] * x.shape[3])


class _Affine(nn.Module):
    """A fixed ``x * scale + shift`` (only the operation that is not the identity is applied)."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale != 1.0:
            x = x * self.scale
        return x + self.shift if self.shift else x


ARCHITECTURES = {"residual_unet": ResidualUNet, "paper_cae": PaperCAE, "latent_cae": LatentCAE}
INPUT_KIND = {"residual_unet": "masked+mask", "paper_cae": "masked", "latent_cae": "image"}
BASE_INPUT_KIND = {"nconv": "masked+mask", "linear": "linear+mask"}  # ResidualUNet's input kind per base


def input_kind(arch: str, net_options: dict) -> str:
    """The input kind (:data:`maskcodec.runtime.onnx.INPUT_KINDS`) of a network built with these options."""
    if arch == "residual_unet":
        return BASE_INPUT_KIND[net_options.get("base", "nconv")] + ("+d" if net_options.get("tolerance") else "")
    return INPUT_KIND[arch]


def build(arch: str, channels: int, widths: tuple[int, ...], **options) -> nn.Module:
    """The network ``arch`` (a key of :data:`ARCHITECTURES`) for ``channels`` channels.

    ``options`` go to the network's constructor (``init`` for :class:`ResidualUNet`).
    """
    if arch not in ARCHITECTURES:
        raise InvalidInputError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](channels, tuple(widths), **options)


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
