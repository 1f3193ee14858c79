"""Predictive coding, bounded error and refinement chains (spec sections 4.2, 6.5 and 6.6)."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec import errors
from maskcodec.survivors import predictive
from maskcodec.cli import main
from maskcodec.codec import coded
from maskcodec.masks import KINDS
from maskcodec.masks import keys_at, kept_indices

from spec_scalar import SpecTokens, spec_planes, spec_value

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"


# ------------------------------------------------------------------ a scalar decoder written from the spec text

def _bits_of(data: bytes) -> list[int]:
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def _spec_levels(pixels: list[tuple[int, int]], known: dict, width: int, channels: int, bits: int, lead: int):
    """Section 6.5's levels, lowest first: the level's (index, key) pairs, each pixel's spatial predictions and
    context, and the dict the caller fills with the level's decoded values (added to ``known`` after it)."""
    def level(key):
        return 0 if key < 1 << 22 else key.bit_length() - 22

    by_level = {}
    for i, key in pixels:
        by_level.setdefault(level(key), []).append((i, key))
    for j in sorted(by_level):
        s = max(1, (12 - j) >> 1)
        cells = {}
        for i in sorted(known):  # scan order: the first 2 known pixels of each cell
            cell = ((i // width) >> s, (i % width) >> s)
            if len(cells.setdefault(cell, [])) < 2:
                cells[cell].append(i)
        spatial, contexts = {}, {}
        for i, _ in by_level[j]:
            y, x = divmod(i, width)
            cand = [k for a in (-1, 0, 1) for b in (-1, 0, 1) for k in cells.get(((y >> s) + a, (x >> s) + b), [])]
            w = {k: (1 << 30) // (((k // width - y) ** 2 + (k % width - x) ** 2) ** 2) for k in cand}
            total = sum(w.values())
            if total == 0:
                spatial[i], contexts[i] = [1 << (bits - 1)] * channels, 8
                continue
            spatial[i] = [(sum(w[k] * known[k][c] for k in cand) + total // 2) // total for c in range(channels)]
            used = [known[k][lead] for k in cand if w[k] > 0]
            a = (max(used) - min(used)) * 256 >> bits
            contexts[i] = sum(t <= a for t in (3, 6, 10, 16, 25, 40, 64))
        decoded = {i: [None] * channels for i, _ in by_level[j]}
        yield by_level[j], spatial, contexts, decoded
        known.update(decoded)


def spec_decode(payload: bytes, pixels: list[tuple[int, int]], prior: dict, width: int, channels: int, bits: int,
                transform: int, d: int) -> dict:
    """Section 6.5, one pixel and one code at a time: {flat index: [values]} of the coded ``pixels``
    ((flat index, key) pairs, ascending index), given the ``prior`` pixels of earlier files."""
    table = payload[:9 * channels]
    u = int.from_bytes(payload[9 * channels:9 * channels + 4], "little")
    unary = _bits_of(payload[9 * channels + 4:9 * channels + 4 + u])
    fixed = _bits_of(payload[9 * channels + 4 + u:])
    upos = fpos = 0
    known = dict(prior)
    for level, spatial, contexts, decoded in _spec_levels(pixels, known, width, channels, bits,
                                                          1 if transform == 1 else 0):
        for p, (ch, ref) in enumerate(spec_planes(transform, channels)):
            for i, _ in level:
                run = 0
                while unary[upos] == 0:
                    run, upos = run + 1, upos + 1
                upos += 1
                assert run <= 16
                k = table[9 * p + contexts[i]]
                width_bits = bits if run == 16 else k
                field = int("".join(map(str, fixed[fpos:fpos + width_bits])) or "0", 2)
                fpos += width_bits
                z = field if run == 16 else (run << k) | field
                decoded[i][ch] = spec_value(z, spatial[i], decoded[i], ch, ref, bits, d)
    assert sum(unary[upos:]) == 0 and len(unary) - upos < 8 and sum(fixed[fpos:]) == 0 and len(fixed) - fpos < 8
    return {i: known[i] for i, _ in pixels}


def spec_decode_ranked(payload: bytes, pixels: list[tuple[int, int]], prior: dict, width: int, channels: int,
                       bits: int, transform: int, d: int) -> dict:
    """Section 6.7 from its text: the levels of 6.5, each in rank order, range-coded tokens under adaptive
    counts, one symbol at a time."""
    tokens = SpecTokens(payload, bits)
    known = dict(prior)
    for level, spatial, contexts, decoded in _spec_levels(pixels, known, width, channels, bits,
                                                          1 if transform == 1 else 0):
        for i, _ in sorted(level, key=lambda ik: (ik[1], ik[0])):  # rank order: key, then scan order
            for p, (ch, ref) in enumerate(spec_planes(transform, channels)):
                decoded[i][ch] = spec_value(tokens.code(9 * p + contexts[i]), spatial[i], decoded[i], ch, ref, bits, d)
    tokens.end()
    return {i: known[i] for i, _ in pixels}


def _spec_values(data: bytes, prior: dict) -> dict:
    h, payload = coded(data)
    kind = KINDS[h.mask_kind].name
    idx = kept_indices(h.shape[0], h.shape[1], h.keep_threshold, h.seed, kind)
    keys = keys_at(idx, h.shape[1], h.seed, kind)
    pixels = [(int(i), int(k)) for i, k in zip(idx, keys) if h.previous_threshold is None or k > h.previous_threshold]
    decoder = spec_decode_ranked if h.coding == "ranked" else spec_decode
    return decoder(payload, pixels, prior, h.shape[1], h.channels, h.bits, h.transform, h.max_error)


@pytest.mark.parametrize("name", ["p_gray8_tiny_keep0.5", "p_rgb8_maxerr2_keep0.2", "p_2band8_keep0.3",
                                  "p_4band8_keep0.3", "p_gray12_hash_keep0.25",
                                  "r_gray8_tiny_keep0.5", "r_gray8_empty_keep0.01", "r_rgb8_maxerr8_keep1",
                                  "r_4band8_keep0.3", "r_gray12_hash_keep0.25", "r_gray16_keep0.5",
                                  "r_gray8_maxerr3_keep0.5"])
def test_spec_text_alone_decodes_the_vectors(name):
    data = (VECTORS / "valid" / f"{name}.mcx").read_bytes()
    expected = np.load(VECTORS / "valid" / f"{name}.survivors.npy")
    values = _spec_values(data, {})
    assert np.array_equal(np.array([values[i] for i in sorted(values)]).reshape(expected.shape), expected)


@pytest.mark.parametrize("chain", ["chain_gray12_maxerr", "chain_rgb8_ranked"])
def test_spec_text_alone_decodes_a_chain(chain):
    index = json.loads((VECTORS / "chains" / "index.json").read_text())["chains"][chain]
    files = [(VECTORS / "chains" / f).read_bytes() for f in index["files"]]
    known = {}
    for data in files:
        known.update(_spec_values(data, dict(known)))
    expected = np.load(VECTORS / "chains" / index["survivors"])
    assert np.array_equal(np.array([known[i] for i in sorted(known)]).reshape(expected.shape), expected)


def test_levels_and_keys_follow_the_spec():
    assert predictive.levels(np.array([0, (1 << 22) - 1, 1 << 22, (1 << 23) - 1, 1 << 23, 1 << 31, 2 ** 32 - 1],
                                      np.uint32)).tolist() == [0, 0, 1, 1, 2, 10, 10]
    # kind 1: the key is the rank shifted up by 18 bits, so ranks 0-15 are level 0 and 16-31 level 1
    idx = np.arange(128 * 128)
    keys = keys_at(idx, 128, 0, "bluenoise")
    ranks = keys >> 18
    assert set(predictive.levels(keys[ranks < 16]).tolist()) == {0}
    assert set(predictive.levels(keys[(ranks >= 16) & (ranks < 32)]).tolist()) == {1}


# ------------------------------------------------------------------ exact and bounded round trips on real images

@pytest.mark.parametrize("sample,bits", [("mastcam", None), ("navcam", None), ("navcam12", 12)])
@pytest.mark.parametrize("kind", ["bluenoise", "hash"])
@pytest.mark.parametrize("coding", [None, "predictive"])
def test_predictive_round_trip_is_exact(sample, bits, kind, coding):
    img = maskcodec.sample_image(sample)
    data = maskcodec.encode(img, 0.1, seed=5, bits=bits, mask=kind, coding=coding)
    h, m, values = maskcodec.survivors(data)
    assert h.coding == (coding or "ranked") and h.max_error == 0  # ranked by default
    assert (values.reshape(img[m].shape) == img[m]).all()


@pytest.mark.parametrize("sample,bits", [("mastcam", None), ("navcam12", 12)])
def test_predictive_beats_scan_coding_on_real_images(sample, bits):
    img = maskcodec.sample_image(sample)
    scan = maskcodec.encode(img, 0.1, seed=5, bits=bits, coding="scan")
    pred = maskcodec.encode(img, 0.1, seed=5, bits=bits)
    assert maskcodec.inspect(scan).coding == "scan"
    assert len(pred) < 0.9 * len(scan)  # measured 0.81-0.87 on training frames


@pytest.mark.parametrize("max_error", [1, 2, 5])
def test_bounded_error_holds_for_every_kept_value(max_error):
    img = maskcodec.sample_image("mastcam")
    exact = maskcodec.encode(img, 0.2, seed=2)
    data = maskcodec.encode(img, 0.2, seed=2, max_error=max_error)
    h, m, values = maskcodec.survivors(data)
    assert h.max_error == max_error and len(data) < len(exact)
    err = np.abs(values.astype(np.int64) - img[m])
    assert err.max() == max_error  # the bound is reached, never passed
    out = maskcodec.decode(data, inpainter="nconv")
    assert (out[m] == values).all()  # the decoder pastes back the reconstructed values


def test_bounded_error_buys_quality_at_equal_bytes():
    img = maskcodec.sample_image("mastcam")
    budget = len(maskcodec.encode(img, 0.1, seed=4, coding="scan"))
    keep = max(k / 100 for k in range(10, 60) if len(maskcodec.encode(img, k / 100, seed=4, max_error=2)) <= budget)
    bounded = maskcodec.encode(img, keep, seed=4, max_error=2)
    gain = (maskcodec.metrics.psnr(img, maskcodec.decode(bounded, inpainter="linear"))
            - maskcodec.metrics.psnr(img, maskcodec.decode(maskcodec.encode(img, 0.1, seed=4, coding="scan"),
                                                           inpainter="linear")))
    assert keep >= 0.18 and gain > 1.0


def test_max_error_is_checked_against_the_sample_depth():
    img = maskcodec.sample_image("navcam")
    with pytest.raises(errors.InvalidInputError, match=r"max_error \(--max-error\) must be in 0\.\.127"):
        maskcodec.encode(img, 0.1, max_error=128)
    with pytest.raises(errors.InvalidInputError, match="non-negative"):
        maskcodec.encode(img, 0.1, max_error=-1)
    with pytest.raises(errors.InvalidInputError, match=r"must be in 0\.\.127"):
        maskcodec.encode(img, 0.1, max_error=128, segment_size=1024)
    with pytest.raises(errors.InvalidInputError, match="needs coding"):
        maskcodec.encode(img, 0.1, max_error=2, coding="scan")
    with pytest.raises(errors.InvalidInputError, match="coding"):
        maskcodec.encode(img, 0.1, coding="zip")
    maskcodec.encode(maskcodec.sample_image("navcam12"), 0.1, bits=12, max_error=2047)  # the largest for 12 bits


def test_extreme_values_survive_the_modular_reduction():
    rng = np.random.default_rng(1)
    img = rng.choice(np.array([0, 1, 254, 255], np.uint8), (40, 50, 3))  # errors of +-255 around every prediction
    for d in (0, 1, 3):
        h, m, values = maskcodec.survivors(maskcodec.encode(img, 0.5, seed=1, max_error=d))
        assert np.abs(values.astype(np.int64) - img[m]).max() <= d


# ------------------------------------------------------------------ refinement chains

def test_chain_to_keep_one_is_lossless_and_costs_little():
    img = maskcodec.sample_image("mastcam")
    files = [maskcodec.encode(img, 0.01, seed=9)]
    for keep in (0.1, 1.0):
        files.append(maskcodec.refine(img, files, keep))
    assert (maskcodec.decode(files) == img).all()
    one_shot = maskcodec.encode(img, 1.0, seed=9)
    assert sum(map(len, files)) <= 1.05 * len(one_shot)
    h = maskcodec.inspect(files[1])
    assert h.refines == hashlib.sha256(files[0]).hexdigest() and h.previous_threshold == maskcodec.inspect(
        files[0]).keep_threshold
    assert h.survivors == maskcodec.inspect(files[1]).survivors < maskcodec.mask(img.shape, 0.1, 9).sum()


def test_chain_decodes_what_a_one_shot_file_keeps():
    img = maskcodec.sample_image("navcam")
    base = maskcodec.encode(img, 0.05, seed=3, max_error=2)
    more = maskcodec.refine(img, [base], 0.2)
    out = maskcodec.decode([base, more], inpainter="nconv")
    m, m0 = maskcodec.mask(img.shape, 0.2, 3), maskcodec.mask(img.shape, 0.05, 3)
    err = np.abs(out.astype(np.int64) - img)
    assert err[m0].max() <= 2 and err[m & ~m0].max() == 0  # each pixel within its own file's bound


def test_a_scan_coded_file_can_be_refined():
    img = maskcodec.sample_image("navcam")
    base = maskcodec.encode(img, 0.1, seed=3, mask="hash", coding="scan")
    more = maskcodec.refine(img, base, 0.3)
    out = maskcodec.decode([base, more], inpainter="nconv")
    m = maskcodec.mask(img.shape, 0.3, 3, "hash")
    assert (out[m] == img[m]).all()


def test_broken_chains_raise_chain_errors():
    img = maskcodec.sample_image("navcam")
    base = maskcodec.encode(img, 0.05, seed=3)
    r1 = maskcodec.refine(img, [base], 0.1)
    r2 = maskcodec.refine(img, [base, r1], 0.3)
    other = maskcodec.encode(img[:, ::-1].copy(), 0.05, seed=3)
    cases = {"first file": [r1, base], "a link is missing": [base, r2], "refines another file": [other, r1],
             "not a refinement": [base, other], "is a refinement": r1}
    for message, files in cases.items():
        with pytest.raises(errors.ChainError, match=message):
            maskcodec.decode(files)
    with pytest.raises(errors.InvalidInputError, match="above the chain's keep"):
        maskcodec.refine(img, [base, r1], 0.1)
    with pytest.raises(errors.InvalidInputError, match="the chain it refines holds"):
        maskcodec.refine(img[:10], [base], 0.5)
    with pytest.raises(errors.InvalidInputError, match="at least one file"):
        maskcodec.refine(img, [], 0.5)
    with pytest.raises(errors.ChainError, match="segmented"):
        maskcodec.refine(img, [maskcodec.encode(img, 0.05, seed=3, segment_size=1024)], 0.5)


# ------------------------------------------------------------------ the command line

def test_cli_writes_and_decodes_a_chain(tmp_path, capsys):
    from maskcodec.io.images import read_image, write_image
    src = tmp_path / "nav.png"
    write_image(src, maskcodec.sample_image("navcam"))
    assert main(["encode", str(src), "--keep", "0.02", "--seed", "4", "--max-error", "1", "-o",
                 str(tmp_path / "b.mcx")]) == 0
    assert main(["encode", str(src), "--keep", "0.2", "--refines", str(tmp_path / "b.mcx"), "-o",
                 str(tmp_path / "r1.mcx")]) == 0
    assert main(["encode", str(src), "--keep", "1", "--refines", str(tmp_path / "b.mcx"), str(tmp_path / "r1.mcx"),
                 "-o", str(tmp_path / "r2.mcx")]) == 0
    assert "chain of 3 files" in capsys.readouterr().out
    assert main(["info", str(tmp_path / "r1.mcx")]) == 0
    info = capsys.readouterr().out
    assert "refines the file with SHA-256" in info and "added to the chain's keep 0.02" in info
    assert main(["info", str(tmp_path / "b.mcx")]) == 0
    assert "kept values within +-1" in capsys.readouterr().out
    out = tmp_path / "out.png"
    assert main(["decode", str(tmp_path / "b.mcx"), str(tmp_path / "r1.mcx"), str(tmp_path / "r2.mcx"), "-o",
                 str(out)]) == 0
    img, back = maskcodec.sample_image("navcam"), read_image(out)
    m0 = maskcodec.mask(img.shape, 0.02, 4)
    assert (back[~m0] == img[~m0]).all() and np.abs(back.astype(int) - img).max() <= 1
    # a link missing, a refinement alone, flags that the chain sets
    assert main(["decode", str(tmp_path / "b.mcx"), str(tmp_path / "r2.mcx"), "-o", str(tmp_path / "x.png")]) == 2
    assert "a link is missing before file 2" in capsys.readouterr().err
    assert main(["decode", str(tmp_path / "r1.mcx"), "-o", str(tmp_path / "y.png")]) == 2
    assert "this file is a refinement" in capsys.readouterr().err
    assert main(["encode", str(src), "--keep", "0.5", "--seed", "3", "--refines", str(tmp_path / "b.mcx")]) == 2
    assert "--seed cannot be given with --refines" in capsys.readouterr().err
    assert main(["encode", str(src), "--max-error", "300", "-o", str(tmp_path / "z.mcx")]) == 2
    err = capsys.readouterr().err
    assert "--max-error" in err and "0..127" in err and "Traceback" not in err


def test_very_wide_and_low_depth_images_round_trip():
    nav = maskcodec.sample_image("navcam")
    wide = np.tile(nav[:4], (1, 250))  # 63750 columns: distances to empty candidate slots must not overflow
    h, m, values = maskcodec.survivors(maskcodec.encode(wide, 0.3, seed=1))
    assert (values.ravel() == wide[m]).all()
    binary = (nav > 128).astype(np.uint8)
    h, m, values = maskcodec.survivors(maskcodec.encode(binary, 0.3, seed=1, bits=1))
    assert h.bits == 1 and (values.ravel() == binary[m]).all()
    with pytest.raises(errors.InvalidInputError, match=r"0\.\.0 for 1-bit"):
        maskcodec.encode(binary, 0.3, bits=1, max_error=1)


def test_info_checks_a_predictive_payload_without_decoding_an_image():
    """verify (maskcodec info) decodes the kept values of a predictive file: every damaged predictive vector
    (but a refinement alone, which needs its chain) is reported."""
    vectors = Path(__file__).resolve().parent.parent / "spec" / "vectors" / "errors"
    index = json.loads((vectors / "index.json").read_text())
    names = [n for n, e in index.items() if n.startswith("p_") and e["error"] != "ChainError"]
    assert len(names) > 10
    for name in names:
        assert maskcodec.codec.verify((vectors / f"{name}.mcx").read_bytes()) is not None, name
