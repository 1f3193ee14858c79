"""The inpainting networks that ``maskcodec`` ships, as torch modules.

- :class:`ResidualUNet`: a small U-Net that reads the ``nconv`` fill plus the
  mask and predicts a correction on top of the fill (input kind
  ``"nconv+mask"``); the design of the ``default`` models.
- :class:`PaperCAE`: the convolutional autoencoder of the paper, reading the
  masked image alone (input kind ``"masked"``).

Both are fully convolutional; their input sides must be multiples of
:attr:`multiple`.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResidualUNet", "PaperCAE", "build", "count_parameters"]


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU(inplace=True))


class ResidualUNet(nn.Module):
    """U-Net with additive skips that corrects a classical fill.

    The input is ``channels`` image channels (the ``nconv`` fill) followed by
    the mask; the output is the fill plus a learned residual.

    Parameters
    ----------
    channels : int
        Image channels (3 for RGB, 1 for gray).
    widths : sequence of int
        Feature widths per resolution level, finest first; each further level
        halves the resolution (strided convolution) and the decoder climbs
        back with 2x2 transposed convolutions.

    Examples
    --------
    >>> net = ResidualUNet(3, (8, 16))
    >>> net(torch.zeros(1, 4, 32, 32)).shape
    torch.Size([1, 3, 32, 32])
    """

    def __init__(self, channels: int, widths: tuple[int, ...] = (16, 32, 64, 96)):
        super().__init__()
        self.channels = channels
        self.multiple = 2 ** (len(widths) - 1)
        self.stem = _conv(channels + 1, widths[0])
        self.down = nn.ModuleList(nn.Sequential(_conv(a, b, stride=2), _conv(b, b))
                                  for a, b in zip(widths[:-1], widths[1:]))
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.merge = nn.ModuleList(_conv(a, a) for a in widths[:-1])
        self.head = nn.Conv2d(widths[0], channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            y = merge(up(y) + skips.pop())
        return x[:, :self.channels] + self.head(y)


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
        self.channels = channels
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


ARCHITECTURES = {"residual_unet": ResidualUNet, "paper_cae": PaperCAE}
INPUT_KIND = {"residual_unet": "nconv+mask", "paper_cae": "masked"}


def build(arch: str, channels: int, widths: tuple[int, ...]) -> nn.Module:
    """The network ``arch`` (a key of :data:`ARCHITECTURES`) for ``channels`` channels."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](channels, tuple(widths))


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
