"""Variable-rate mean-scale hyperprior autoencoder with an integer hyper-decoder (issue 27).

Ballé et al. 2018 / Minnen et al. 2018 (mean & scale hyperprior, no
autoregressive context), trained once for all rates with per-level gain
vectors (Cui et al. 2021, asymmetric gained VAE): level ``l`` multiplies the
latent ``y`` by a learned gain vector ``g_l`` before quantization and the
decoded latent by a learned inverse gain ``ig_l`` after; its loss weighs
distortion by ``lambda_l``.

Shapes (``N`` main channels, ``M`` latent channels, ``Nh`` hyper channels, ``Cz`` hyper-latent channels)::

    g_a : conv5/2 GDN conv5/2 GDN conv5/2 GDN conv5/2        x (3, H, W) -> y (M, H/16, W/16)
    gain: y_g = y * g_l
    h_a : conv3 ReLU conv5/2 ReLU conv5/2                     y_g -> z (Cz, H/64, W/64)
    z_hat = round(z) coded with a per-channel factorized prior (learned CDF, Ballé's EntropyBottleneck)
    h_s : INTEGER tconv5/2 ReLU8 tconv5/2 ReLU8 conv3        z_hat -> scale index (M), mean (M) at H/16
    r = round(y_g - mean), coded with the discretized Gaussian of scale table[index]; y_g_hat = r + mean
    g_s : tconv5/2 IGDN tconv5/2 IGDN tconv5/2 IGDN tconv5/2  y_g_hat * ig_l -> x_hat

``h_s`` is trained with fake quantization whose forward pass *is* the integer
computation of :mod:`maskcodec.tools.train.intnet` (weights rounded to int8
with a power-of-two scale per output channel, integer accumulation, rounding
right shifts, saturating ReLU); gradients pass straight through the roundings.
Run in float64 the forward pass is exact, and :meth:`IntHyperDecoder.export`
gives the integers :func:`maskcodec.tools.train.intnet.hyper_decode` runs.

Training quantization is mixed: the rate sees ``y_g - mean + U(-0.5, 0.5)``
and ``z + U(-0.5, 0.5)``, the synthesis sees ``round(y_g - mean) + mean``
(straight-through), and the hyper-decoder sees ``round(z)`` (straight-through).
The rate uses the *quantized* scale ``table[index]``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import intnet
from .nets import GDN

__all__ = ["HyperpriorVR", "IntHyperDecoder", "FactorizedPrior", "gaussian_likelihood"]


# --------------------------------------------------------------------------- straight-through helpers

def ste_round(x: torch.Tensor) -> torch.Tensor:
    """``round`` (half to even) forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def ste_floor(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.floor(x) - x).detach()


class _BoundedClamp(torch.autograd.Function):
    """``clamp(x, lo, hi)`` forward; backward passes the gradient where ``x`` is inside, or where the step the
    gradient asks for moves ``x`` back towards the range (as CompressAI's LowerBound)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        # gradient descent moves x by -g: pass when inside, or below and g < 0, or above and g > 0
        ok = ((x >= ctx.lo) | (g < 0)) & ((x <= ctx.hi) | (g > 0))
        return g * ok, None, None


def bounded_clamp(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return _BoundedClamp.apply(x, lo, hi)


def ste_clamp(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """``clamp`` forward; gradient passes inside the range only (a saturating ReLU's gradient)."""
    return x.clamp(lo, hi)


# --------------------------------------------------------------------------- GDN

# --------------------------------------------------------------------------- integer hyper-decoder

class _IntLayer(nn.Module):
    """A fake-quantized layer whose forward is the integer layer of :mod:`intnet` on integer-valued tensors.

    Holds float weights ``w`` and bias ``b`` (the real network: ``out_real = conv(a_real, w) + b``).
    Per output channel ``e = clamp(floor(log2(127 / max|w|)), e_min, 16)`` where ``e_min`` makes the shift
    ``s = f_in + e - f_out`` non-negative; ``W = clamp(round(w 2^e), -127, 127)``,
    ``B = clamp(round(b 2^(f_in + e)), -2^30, 2^30)``.
    """

    def __init__(self, cin: int, cout: int, k: int, transposed: bool, f_in: int, f_out: torch.Tensor):
        super().__init__()
        self.transposed, self.k, self.f_in = transposed, k, f_in
        shape = (cin, cout, k, k) if transposed else (cout, cin, k, k)
        w = torch.empty(shape)
        fan_in = cin * k * k // (4 if transposed else 1)
        nn.init.normal_(w, 0.0, math.sqrt(2.0 / fan_in))
        self.w = nn.Parameter(w)
        self.b = nn.Parameter(torch.zeros(cout))
        self.register_buffer("f_out", torch.as_tensor(f_out, dtype=torch.int64).expand(cout).clone())

    def _out_dim(self) -> int:
        return 1 if self.transposed else 0

    def exponents(self) -> torch.Tensor:
        w = self.w.detach()
        d = self._out_dim()
        amax = w.abs().amax(dim=[i for i in range(4) if i != d]).double()
        e = torch.floor(torch.log2(intnet.WMAX / amax.clamp_min(1e-30)))
        e_min = (self.f_out - self.f_in).double()
        return torch.maximum(e.clamp(max=16), e_min).to(torch.int64)

    def quantized(self):
        """``(W, B, s, e)``: integer-valued float weights and bias (straight-through), shifts, exponents."""
        e = self.exponents()
        d = self._out_dim()
        view = [1, 1, 1, 1]
        view[d] = -1
        we = torch.pow(2.0, e.to(self.w.dtype)).view(view)
        W = ste_clamp(ste_round(self.w * we), -intnet.WMAX, intnet.WMAX)
        be = torch.pow(2.0, (e + self.f_in).to(self.b.dtype))
        B = ste_clamp(ste_round(self.b * be), -2.0 ** 30, 2.0 ** 30)
        s = e + self.f_in - self.f_out
        return W, B, s, e

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """Integer-valued input (units ``2^-f_in``) -> integer-valued ``rshift(acc, s)``, straight-through."""
        W, B, s, _ = self.quantized()
        W, B = W.to(a.dtype), B.to(a.dtype)
        if self.transposed:
            acc = F.conv_transpose2d(a, W, B, stride=2, padding=self.k // 2, output_padding=1)
        else:
            acc = F.conv2d(a, W, B, padding=self.k // 2)
        p = torch.pow(2.0, s.to(a.dtype)).view(1, -1, 1, 1)
        scaled = acc / p
        return scaled + (torch.floor(scaled + 0.5) - scaled).detach()   # (acc + 2^(s-1)) >> s ; s = 0: acc

    def export(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.no_grad():
            W, B, s, _ = self.quantized()
        return (W.numpy().astype(np.int8), B.double().numpy().astype(np.int64).astype(np.int32),
                s.numpy().astype(np.int32))


class IntHyperDecoder(nn.Module):
    """``z_hat`` (integers) -> (scale index, mean) at 4x the side, computed as :func:`intnet.hyper_decode`.

    In training the forward pass returns the real-valued pre-clamp index ``t`` (straight-through, bounded
    clamp to ``[0, S-1]``) and the mean in latent units; in float64 everything it rounds is exact.
    """

    def __init__(self, cz: int, hidden: int, m: int):
        super().__init__()
        self.m = m
        fh = intnet.F_HIDDEN
        f_out = torch.cat([torch.zeros(m, dtype=torch.int64), torch.full((m,), intnet.F_MEAN, dtype=torch.int64)])
        self.l1 = _IntLayer(cz, hidden, 5, True, 0, fh)
        self.l2 = _IntLayer(hidden, hidden, 5, True, fh, fh)
        self.l3 = _IntLayer(hidden, 2 * m, 3, False, fh, f_out)
        with torch.no_grad():  # start the scales mid-table, means near 0
            self.l3.w.mul_(0.1)
            self.l3.b[:m] = intnet.S / 2

    def forward(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = z_hat.clamp(intnet.ZMIN, intnet.ZMAX)
        a = ste_clamp(self.l1(a), 0, intnet.HIDDEN_MAX)
        a = ste_clamp(self.l2(a), 0, intnet.HIDDEN_MAX)
        out = self.l3(a)
        idx = bounded_clamp(out[:, :self.m], 0.0, intnet.S - 1.0)
        mean = bounded_clamp(out[:, self.m:], float(intnet.MEAN_MIN), float(intnet.MEAN_MAX))
        return idx, mean / 2.0 ** intnet.F_MEAN

    def export(self) -> dict:
        """The integer network for :func:`intnet.hyper_decode` (int8 weights, int32 biases and shifts)."""
        net = {}
        for k, layer in enumerate((self.l1, self.l2, self.l3), 1):
            net[f"w{k}"], net[f"b{k}"], net[f"s{k}"] = layer.export()
        intnet.check_bounds(net)
        return net


# --------------------------------------------------------------------------- factorized prior for z

class FactorizedPrior(nn.Module):
    """Per-channel learned cumulative (Ballé et al. 2018 appendix 6.1; CompressAI's EntropyBottleneck),
    filters ``(1, 3, 3, 3, 1)``; ``likelihood(z)`` is the mass of ``[z - 0.5, z + 0.5]``."""

    def __init__(self, channels: int, filters=(3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        f = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1 / (len(f) - 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for i in range(len(f) - 1):
            init = math.log(math.expm1(1 / scale / f[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, f[i + 1], f[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, f[i + 1], 1) - 0.5))
            if i < len(f) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, f[i + 1], 1)))

    def logits_cumulative(self, x: torch.Tensor) -> torch.Tensor:
        """``x (C, 1, n)`` -> ``(C, 1, n)``."""
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(m), x) + b
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        n, c, h, w = z.shape
        v = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cumulative(v - 0.5)
        upper = self.logits_cumulative(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return lik.reshape(c, n, h, w).permute(1, 0, 2, 3)


def gaussian_likelihood(v: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Mass of ``[v - 0.5, v + 0.5]`` under ``N(0, sigma)`` (computed on the lower tail for precision)."""
    v = v.abs()
    c = 1 / math.sqrt(2.0)
    upper = torch.special.erfc(((v - 0.5) / sigma) * c)  # 2 * P(X > v - 0.5)
    lower = torch.special.erfc(((v + 0.5) / sigma) * c)
    return 0.5 * (upper - lower)


# --------------------------------------------------------------------------- the model

def _conv(cin, cout, k=5, stride=2):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def _tconv(cin, cout, k=5):
    return nn.ConvTranspose2d(cin, cout, k, stride=2, padding=k // 2, output_padding=1)


class HyperpriorVR(nn.Module):
    """Variable-rate mean-scale hyperprior model (see the module docstring).

    Parameters
    ----------
    widths : (int, int, int)
        Channels of ``g_a``'s three hidden levels (1/2, 1/4, 1/8 of the side), finest first; ``g_s`` mirrors them.
    m : int
        Latent channels.
    hyper : int
        Hyper-analysis / hyper-synthesis hidden channels.
    cz : int
        Hyper-latent channels.
    levels : int
        Number of rate levels (gain pairs).
    gain_range : (float, float)
        Initial gains of the lowest and highest level (log-spaced between); inverse gains start at 1/gain.
    latent_gain, z_gain : float
        Fixed factors on ``g_a``'s and ``h_a``'s outputs (an untrained encoder's outputs are far below a
        quantization step, and a synthesis that sees only rounding noise learns nothing).

    Examples
    --------
    >>> net = HyperpriorVR((8, 8, 8), 8, 8, 4, levels=2)
    >>> out = net(torch.rand(2, 3, 64, 64), torch.tensor([0, 1]))
    >>> out["x_hat"].shape, out["bits"].shape
    (torch.Size([2, 3, 64, 64]), torch.Size([2]))
    """

    multiple = 64

    def __init__(self, widths=(64, 96, 128), m: int = 160, hyper: int = 96, cz: int = 64, levels: int = 6,
                 gain_range=(0.25, 2.0), latent_gain: float = 40.0, z_gain: float = 8.0, channels: int = 3):
        super().__init__()
        c1, c2, c3 = widths
        self.widths, self.m, self.levels, self.latent_gain, self.z_gain = tuple(widths), m, levels, latent_gain, z_gain
        self.g_a = nn.Sequential(_conv(channels, c1), GDN(c1), _conv(c1, c2), GDN(c2), _conv(c2, c3), GDN(c3),
                                 _conv(c3, m))
        self.g_s = nn.Sequential(_tconv(m, c3), GDN(c3, True), _tconv(c3, c2), GDN(c2, True), _tconv(c2, c1),
                                 GDN(c1, True), _tconv(c1, channels))
        self.h_a = nn.Sequential(_conv(m, hyper, 3, 1), nn.ReLU(), _conv(hyper, hyper), nn.ReLU(), _conv(hyper, cz))
        self.h_s = IntHyperDecoder(cz, hyper, m)
        self.prior_z = FactorizedPrior(cz)
        g = torch.linspace(math.log(gain_range[0]), math.log(gain_range[1]), levels)
        self.log_gain = nn.Parameter(g[:, None].repeat(1, m).clone())
        self.log_inv_gain = nn.Parameter(-g[:, None].repeat(1, m).clone())
        self.register_buffer("log_scale_min", torch.tensor(math.log(intnet.SCALE_MIN)))
        self.register_buffer("log_scale_step", torch.tensor(
            (math.log(intnet.SCALE_MAX) - math.log(intnet.SCALE_MIN)) / (intnet.S - 1)))

    # ---- pieces
    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        return self.g_a(x - 0.5) * self.latent_gain

    def synthesis(self, y_hat: torch.Tensor) -> torch.Tensor:
        return self.g_s(y_hat / self.latent_gain) + 0.5

    def gains(self, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.exp(self.log_gain[level])[:, :, None, None],
                torch.exp(self.log_inv_gain[level])[:, :, None, None])

    def scales(self, idx: torch.Tensor) -> torch.Tensor:
        """``table[idx]`` forward for integer ``idx``; a smooth function of ``idx`` backward."""
        return torch.exp(self.log_scale_min + self.log_scale_step * ste_round(idx))

    def hyper_decode(self, z_hat: torch.Tensor, exact: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale index, mean) from integer ``z_hat``; ``exact`` runs in float64 (bit-exact to :mod:`intnet`)."""
        if exact:
            idx, mean = self.h_s(z_hat.double())
            return idx.float(), mean.float()
        return self.h_s(z_hat)

    # ---- training / evaluation
    def forward(self, x: torch.Tensor, level: torch.Tensor, y: torch.Tensor | None = None) -> dict:
        """Reconstruction and bits per image at the levels ``level`` (one per image).

        Training mode: mixed quantization (noise for the rate, straight-through rounding for the synthesis).
        Eval mode: rounding everywhere and the exact (float64) hyper-decoder; ``bits`` is then the ideal code
        length of the rounded symbols. ``y`` (``analysis(x)``) may be passed to skip the encoder.
        """
        if y is None:
            y = self.analysis(x)
        g, ig = self.gains(level)
        y_g = y * g
        z = self.h_a(y_g) * self.z_gain
        if self.training:
            z_rate = z + torch.empty_like(z).uniform_(-0.5, 0.5)
            z_hat = ste_round(z)
            idx, mean = self.hyper_decode(z_hat)
            sigma = self.scales(idx)
            v = y_g - mean + torch.empty_like(y_g).uniform_(-0.5, 0.5)
            y_hat_g = ste_round(y_g - mean) + mean
        else:
            z_hat = torch.round(z)
            z_rate = z_hat
            idx, mean = self.hyper_decode(z_hat, exact=True)
            sigma = self.scales(idx)
            v = torch.round(y_g - mean)
            y_hat_g = v + mean
        lik_y = gaussian_likelihood(v, sigma).clamp_min(1e-9)
        lik_z = self.prior_z.likelihood(z_rate).clamp_min(1e-9)
        bits_y = -torch.log2(lik_y).sum(dim=(1, 2, 3))
        bits_z = -torch.log2(lik_z).sum(dim=(1, 2, 3))
        x_hat = self.synthesis(y_hat_g * ig)
        return dict(x_hat=x_hat, bits=bits_y + bits_z, bits_y=bits_y, bits_z=bits_z, idx=idx, mean=mean, z_hat=z_hat)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
