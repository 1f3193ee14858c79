"""The variable-rate hyperprior model of issue 27: the integer hyper-decoder is exact, checkpoints resume."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch, the CPU build: pip install torch==2.13.0+cpu (docs/training.md)")

from maskcodec.tools.train import intnet  # noqa: E402
from maskcodec.tools.train.campaign import DEFAULTS, Campaign  # noqa: E402
from maskcodec.tools.train.hyperprior import HyperpriorVR  # noqa: E402

TINY = dict(widths=[8, 12, 16], latent_channels=24, hyper_channels=16, z_channels=8, lambdas=[0.001, 0.004, 0.016])


def _tiny(seed=0) -> HyperpriorVR:
    torch.manual_seed(seed)
    return HyperpriorVR(tuple(TINY["widths"]), TINY["latent_channels"], TINY["hyper_channels"], TINY["z_channels"],
                        levels=len(TINY["lambdas"]))


def _crop(h=128, w=192) -> torch.Tensor:
    import maskcodec
    a = maskcodec.sample_image("mastcam")[:h, :w]
    return torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]


def _check_exact(net: HyperpriorVR, z: torch.Tensor) -> None:
    exported = net.h_s.export()
    assert {k: v.dtype for k, v in exported.items()} == {
        "w1": np.int8, "b1": np.int32, "s1": np.int32, "w2": np.int8, "b2": np.int32, "s2": np.int32,
        "w3": np.int8, "b3": np.int32, "s3": np.int32}
    assert all((exported[f"s{k}"] >= 0).all() for k in (1, 2, 3))
    with torch.no_grad():
        idx_t, mean_t = net.h_s(z.double())
    for i in range(z.shape[0]):
        idx, mean = intnet.hyper_decode(z[i].numpy().astype(np.int64), exported)
        assert np.array_equal(idx, idx_t[i].numpy().astype(np.int64))
        assert np.array_equal(mean, (mean_t[i] * 2 ** intnet.F_MEAN).numpy().astype(np.int64))


def test_integer_hyper_decoder_matches_torch_bit_for_bit():
    net = _tiny().eval()
    with torch.no_grad():  # spread the biases so that the ReLUs, saturations and index clamps all take part
        for layer in (net.h_s.l1, net.h_s.l2, net.h_s.l3):
            layer.b.normal_(0, 2.0)
    x = _crop()
    with torch.no_grad():
        out = net(x, torch.tensor([2]))
    z = out["z_hat"]
    assert z.shape == (1, TINY["z_channels"], 2, 3) and bool((z != 0).any())
    _check_exact(net, z)
    # the model's own eval path used the same network
    idx, mean = intnet.hyper_decode(z[0].numpy().astype(np.int64), net.h_s.export())
    assert np.array_equal(idx, out["idx"][0].numpy().astype(np.int64))
    # integers over the whole input range, including the clamps
    g = torch.Generator().manual_seed(1)
    _check_exact(net, torch.randint(-1500, 1500, (2, TINY["z_channels"], 3, 2), generator=g).float())
    assert intnet.check_bounds(net.h_s.export()) < 2 ** 31


def test_rshift_rounds_half_up():
    v = np.array([[-3, -2, -1, 0, 1, 2, 3], [8, 9, 10, 11, 12, 13, 14]])
    assert intnet.rshift(v, np.array([1, 0])).tolist() == [[-1, -1, 0, 0, 1, 1, 2], [8, 9, 10, 11, 12, 13, 14]]
    assert len(intnet.scale_table()) == intnet.S and abs(intnet.scale_table()[-1] - intnet.SCALE_MAX) < 1e-9


@pytest.mark.parametrize("h,w", [(64, 64), (128, 192), (256, 64)])
def test_forward_shapes(h, w):
    net = _tiny()
    x = torch.rand(2, 3, h, w)
    out = net.train()(x, torch.tensor([0, 2]))
    assert out["x_hat"].shape == x.shape and out["bits"].shape == (2,)
    assert out["idx"].shape == (2, TINY["latent_channels"], h // 16, w // 16)
    assert out["z_hat"].shape == (2, TINY["z_channels"], h // 64, w // 64)
    out["bits"].sum().backward()
    assert net.h_s.l3.w.grad is not None and net.log_gain.grad is not None


def test_rate_falls_with_level():
    net = _tiny().eval()
    x = _crop(128, 128)
    with torch.no_grad():
        y = net.analysis(x)
        bits = [float(net(x, torch.tensor([lv]), y=y)["bits"][0]) for lv in range(len(TINY["lambdas"]))]
    assert bits == sorted(bits) and bits[0] < bits[-1]


def test_checkpoint_round_trip(tmp_path):
    cfg = dict(DEFAULTS, **TINY)
    a = Campaign(cfg, tmp_path)
    g = torch.Generator().manual_seed(3)
    batches = [(torch.rand(2, 3, 64, 64, generator=g), torch.tensor([0, 2])) for _ in range(3)]
    for x, lv in batches[:2]:
        a.train_step(x, lv)
    a.minutes, a.sittings = 1.5, [dict(start_step=0, end_step=2, minutes=1.5)]
    a.rng.random(5)
    a.save()
    b = Campaign(dict(cfg, seed=99), tmp_path)
    assert b.load()
    assert b.step == 2 and b.minutes == 1.5 and b.sittings == a.sittings
    assert b.rng.random() == a.rng.random()
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k
    sa, sb = a.opt.state_dict(), b.opt.state_dict()
    assert sa["state"].keys() == sb["state"].keys()
    for k in sa["state"]:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(torch.as_tensor(sa["state"][k][name]), torch.as_tensor(sb["state"][k][name]))
    # the same next step from both (torch RNG state travels too)
    torch.set_rng_state(b_state := torch.get_rng_state())
    a.train_step(*batches[2])
    torch.set_rng_state(b_state)
    b.train_step(*batches[2])
    for va, vb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(va, vb)


def test_compact_checkpoint_resumes_on_a_new_machine_and_records_the_chain(tmp_path):
    from maskcodec.tools.train.campaign import compact
    cfg = dict(DEFAULTS, **TINY)
    a = Campaign(cfg, tmp_path / "run")
    x, lv = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(5)), torch.tensor([1, 2])
    a.train_step(x, lv)
    a.minutes, a.sittings = 2.0, [dict(start_step=0, end_step=1, minutes=2.0)]
    a.save()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "manifest.json").write_text('{"models": []}')
    record = compact(tmp_path / "run" / "last.pt", tmp_path / "models" / "checkpoints" / "tiny.pt",
                     tmp_path / "models" / "manifest.json", "tiny")
    assert record["steps"] == 1 and record["sittings"] == a.sittings
    assert json.loads((tmp_path / "models" / "manifest.json").read_text())["campaigns"]["tiny"] == record
    b = Campaign(cfg, tmp_path / "elsewhere")
    assert b.load(tmp_path / "models" / "checkpoints" / "tiny.pt") and b.step == 1
    for va, vb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(va.half().float(), vb)  # the weights to float16
    sa, sb = a.opt.state_dict()["state"], b.opt.state_dict()["state"]
    for k in sa:  # Adam: the step, the second moment's scale per output row; the first moment restarts
        assert torch.equal(torch.as_tensor(sa[k]["step"]), torch.as_tensor(sb[k]["step"]))
        assert sb[k]["exp_avg_sq"].shape == sa[k]["exp_avg_sq"].shape and not sb[k]["exp_avg"].any()
        dims = tuple(range(1, sa[k]["exp_avg_sq"].ndim))
        rows = sa[k]["exp_avg_sq"].mean(dim=dims) if dims else sa[k]["exp_avg_sq"]
        assert torch.allclose(sb[k]["exp_avg_sq"].mean(dim=dims) if dims else sb[k]["exp_avg_sq"], rows, rtol=1e-2)
    b.train_step(x, lv)  # and it trains on
    assert b.step == 2
