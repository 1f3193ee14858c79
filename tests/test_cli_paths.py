"""A ground-station operator's paths through the CLI: outputs, damage, which decoder ran, flag vocabulary."""
from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.cli import main
from maskcodec.io.images import read_image, read_image_bits
from maskcodec.io.samples import sample_path

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"


@pytest.fixture
def rgb16(tmp_path) -> Path:
    """A 16-bit colour frame (three 12-bit Navcam crops as channels) as a .mcx file."""
    gray = maskcodec.sample_image("navcam12")
    image = np.ascontiguousarray(np.stack([gray, gray[::-1], gray[:, ::-1]], axis=2))
    path = tmp_path / "rgb16.mcx"
    path.write_bytes(maskcodec.encode(image, 0.25, seed=3, bits=12))
    np.save(tmp_path / "rgb16.npy", image)
    return path


def test_sixteen_bit_colour_decodes_to_a_full_depth_png(rgb16, tmp_path, capsys):
    assert main(["decode", str(rgb16)]) == 0
    out = rgb16.with_suffix(".decoded.png")
    assert f"-> {out}" in capsys.readouterr().out
    image, (dec, bits) = np.load(tmp_path / "rgb16.npy"), read_image_bits(out)
    m = maskcodec.mask(image.shape, 0.25, 3)
    assert dec.dtype == np.uint16 and (dec[m] == image[m]).all() and bits == 12  # sBIT says 12 bits
    # the PNG encodes again at its 12 bits, every sample kept
    assert main(["encode", str(out), "-o", str(tmp_path / "again.mcx"), "--keep", "1"]) == 0
    assert "12 significant bits, as its sBIT chunk says" in capsys.readouterr().err
    again = maskcodec.inspect((tmp_path / "again.mcx").read_bytes())
    assert again.bits == 12 and again.dtype == "uint16" and again.channels == 3
    assert (maskcodec.decode((tmp_path / "again.mcx").read_bytes()) == dec).all()
    # a folder of such frames decodes too, each to PNG
    folder = tmp_path / "downlink"
    folder.mkdir()
    shutil.copy(rgb16, folder / "a.mcx")
    shutil.copy(VECTORS / "valid" / "rgb8_keep0.1.mcx", folder / "b.mcx")
    assert main(["decode", str(folder), "-o", str(tmp_path / "out"), "-q", "--inpainter", "nconv"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]


def test_outputs_are_checked_before_decoding(rgb16, tmp_path, capsys):
    cases = [
        (["-o", str(tmp_path / "x.jpg")], "unsupported image type '.jpg'"),
        (["-o", str(tmp_path / "nodir" / "x.tif")], f"the output folder {tmp_path / 'nodir'} does not exist"),
        (["-o", str(tmp_path)], "is a folder"),
    ]
    for extra, message in cases:
        start = time.perf_counter()
        assert main(["decode", str(rgb16), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert time.perf_counter() - start < 2  # refused before the decode, not after it
    assert not (tmp_path / "x.jpg").exists()


def test_existing_outputs_need_force(rgb16, tmp_path, capsys):
    out = tmp_path / "frame.tif"
    out.write_bytes(b"keep me")
    assert main(["decode", str(rgb16), "-o", str(out)]) == 2
    assert "exists; choose another output (-o) or overwrite it with --force" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["decode", str(rgb16), "-o", str(out), "--force"]) == 0
    assert read_image(out).dtype == np.uint16
    src = tmp_path / "in.png"
    shutil.copy(sample_path("navcam"), src)
    mcx = tmp_path / "in.mcx"
    mcx.write_bytes(b"old")
    assert main(["encode", str(src), "-o", str(mcx)]) == 2
    assert "--force" in capsys.readouterr().err and mcx.read_bytes() == b"old"
    assert main(["encode", str(src), "-o", str(mcx), "--force", "--seed", "5"]) == 0
    assert maskcodec.inspect(mcx.read_bytes()).seed == 5


def test_encode_writes_mcx_names_and_models_that_fill_the_image(tmp_path, capsys):
    """An encoded file named like an image is refused (--force writes it); a recommended model that could not
    fill the image is refused at encode time, not by the decoder later."""
    src = tmp_path / "gray.png"
    shutil.copy(sample_path("navcam"), src)
    assert main(["encode", str(src), "-o", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err
    assert f"encoded files end in .mcx (-o {tmp_path / 'out.mcx'})" in err and err.count("\n") == 1
    assert not (tmp_path / "out.png").exists()
    assert main(["encode", str(src), "-o", str(tmp_path / "out.png"), "--force"]) == 0
    assert maskcodec.inspect((tmp_path / "out.png").read_bytes()).mode == "mask"
    assert main(["encode", str(src), "--model", "default"]) == 2
    err = capsys.readouterr().err
    assert "--model 'default' inpaints 3-channel images and this image has 1" in err.replace("(--model) ", "--model ")
    assert "--inpainter linear" in err and not src.with_suffix(".mcx").exists()


def test_batch_output_must_be_a_folder(tmp_path, capsys):
    folder = tmp_path / "downlink"
    folder.mkdir()
    for name in ("rgb8_keep0.1", "gray8_keep0.25"):
        shutil.copy(VECTORS / "valid" / f"{name}.mcx", folder)
    assert main(["decode", str(folder), "-o", str(tmp_path / "out.png"), "-q"]) == 2
    assert "-o names that folder, not a file" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()
    out = tmp_path / "out"
    assert main(["decode", str(folder), "-o", str(out), "-q", "--inpainter", "nconv", "--format", "TIFF"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["gray8_keep0.25.tiff", "rgb8_keep0.1.tiff"]
    assert main(["decode", str(folder), "-o", str(out), "-q", "--format", "tiff"]) == 2
    assert "exists" in capsys.readouterr().err


def test_missing_input_says_input(tmp_path, capsys):
    assert main(["decode", str(tmp_path / "nodir" / "x.mcx")]) == 2
    assert "no such .mcx file or folder (input)" in capsys.readouterr().err


def test_info_reports_damage_and_segments(tmp_path, capsys):
    data = (VECTORS / "valid" / "rgb8_keep0.1.mcx").read_bytes()
    cut = tmp_path / "cut.mcx"
    cut.write_bytes(data[:-20])
    assert main(["info", str(cut)]) == 1
    out = capsys.readouterr().out
    assert "integrity  DAMAGED: file is" in out and "the payload is truncated" in out
    assert main(["info", "--json", str(cut)]) == 1
    assert "truncated" in json.loads(capsys.readouterr().out)["damage"]
    seg = maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1, seed=1, segment_size=1024)
    (tmp_path / "seg.mcx").write_bytes(seg)
    assert main(["info", str(tmp_path / "seg.mcx")]) == 0
    out = capsys.readouterr().out
    count = len(seg) // 1024
    assert f"segments   {count} of 1024 bytes each" in out and "integrity  intact" in out
    (tmp_path / "lossy.mcx").write_bytes(seg[:2048] + seg[2048 + 2560:])  # 2.5 KB cut out
    assert main(["info", str(tmp_path / "lossy.mcx")]) == 1
    out = capsys.readouterr().out
    assert "DAMAGED" in out and f"received {count - 3} of {count} segments" in out


def test_damage_errors_point_to_salvage(tmp_path, capsys):
    seg = maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1, seed=1, segment_size=1024)
    (tmp_path / "lossy.mcx").write_bytes(seg[:1024] + seg[2048:])
    assert main(["decode", str(tmp_path / "lossy.mcx"), "-o", str(tmp_path / "a.png")]) == 2
    assert "--salvage recovers what survived" in capsys.readouterr().err
    assert main(["decode", str(tmp_path / "lossy.mcx"), "-o", str(tmp_path / "a.png"), "--salvage",
                 "--inpainter", "nconv"]) == 0
    single = tmp_path / "single.mcx"
    shutil.copy(VECTORS / "errors" / "bad_payload_crc.mcx", single)
    assert main(["decode", str(single), "-o", str(tmp_path / "b.png"), "--salvage"]) == 2
    err = capsys.readouterr().err
    assert "salvage (strict=False, --salvage) needs a segmented stream written with" in err and "CRC32" in err


def test_decode_and_encode_say_what_they_used(tmp_path, capsys):
    src = tmp_path / "m.png"
    shutil.copy(sample_path("mastcam"), src)
    assert main(["encode", str(src), "-o", str(tmp_path / "m.mcx")]) == 0
    seed = maskcodec.inspect((tmp_path / "m.mcx").read_bytes()).seed
    assert f"seed {seed})" in capsys.readouterr().out  # the seed encode drew is shown
    assert main(["decode", str(tmp_path / "m.mcx"), "-o", str(tmp_path / "m2.png")]) == 0
    assert re.search(r"\(inpainted by (default-d|linear|predictor), estimated PSNR \d+\.\d\d dB \(", capsys.readouterr().out)
    twelve = tmp_path / "n12.mcx"
    twelve.write_bytes(maskcodec.encode(maskcodec.sample_image("navcam12"), 0.1, seed=1, bits=12))
    assert main(["decode", str(twelve), "-o", str(tmp_path / "n12.png")]) == 0
    assert "(inpainted by linear)" in capsys.readouterr().out  # no model for 12-bit: the classical one measured best


def test_decode_help_lists_the_installed_inpainters(capsys):
    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "linear, nconv, predictor, or an installed inpainting model: default, default-d, gray-default" in text
    assert "latent-q1" not in text and "paper-colour-noise" not in text


def test_unknown_inpainter_offers_inpainters_only(capsys):
    data = (VECTORS / "valid" / "rgb8_keep0.1.mcx").read_bytes()
    with pytest.raises(maskcodec.InvalidInputError, match="unknown inpainter or model 'nope'") as info:
        maskcodec.decode(data, inpainter="nope")
    assert "default" in str(info.value) and "latent-q1" not in str(info.value)
    assert "paper-colour-noise" not in str(info.value)


def test_a_file_naming_a_missing_model_is_a_model_error(tmp_path, monkeypatch):
    data = maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1, seed=1, model="default")
    empty = tmp_path / "models"
    empty.mkdir()
    (empty / "manifest.json").write_text(json.dumps({"models": []}))
    monkeypatch.setenv("MASKCODEC_MODELS", str(empty))
    with pytest.raises(maskcodec.ModelError, match="'default', which is not installed .* --inpainter linear"):
        maskcodec.decode(data)
    assert maskcodec.decode(data, inpainter="linear").shape == (251, 317, 3)
    listed = json.loads((Path(maskcodec.runtime.manifest.shipped_dir()) / "manifest.json").read_text())
    (empty / "manifest.json").write_text(json.dumps({"models": [m for m in listed["models"] if m["id"] == "default-d"]}))
    with pytest.raises(maskcodec.ModelError, match="its file default-d.onnx is missing: reinstall maskcodec"):
        maskcodec.decode(maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1, seed=1))


@pytest.mark.parametrize("command", ["demo", "bench", "bench-loss", "bench-models", "train"])
def test_one_flag_vocabulary(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "%%" not in text and "--out " not in text and "--keeps" not in text and "--no-progress" not in text
    if command != "train":
        assert "-o OUTPUT, --output OUTPUT" in text
    if command in ("bench-models", "bench", "demo"):
        assert "--keep KEEP" in text


def test_info_and_demo_have_descriptions(capsys):
    for command in ("info", "demo"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert len(text.split("\n\n")[1]) > 60, text  # a paragraph after the usage line


def test_latent_errors_name_flags_and_levels(capsys):
    src = str(sample_path("navcam"))
    assert main(["encode", src, "--mode", "latent"]) == 2
    err = capsys.readouterr().err
    assert "--model" in err and "--quality" in err and "got neither" in err and "model=None" not in err
    assert main(["encode", src, "--mode", "latent", "--quality", "9"]) == 2
    assert "installed levels are [1, 2, 3, 4]" in capsys.readouterr().err


def test_one_channel_messages_are_grammatical():
    with pytest.raises(maskcodec.ModelError, match="this image has 1 channel$"):
        maskcodec.encode(maskcodec.sample_image("navcam"), mode="latent", model="latent-q1")
    gray = maskcodec.encode(maskcodec.sample_image("navcam"), 0.1, seed=1)
    with pytest.raises(maskcodec.ModelError, match="this file has 1 channel$"):
        maskcodec.decode(gray, inpainter="default")


def test_info_json_keep_reads_as_asked(capsys):
    assert main(["info", "--json", str(VECTORS / "valid" / "rgb8_keep0.1.mcx")]) == 0
    header = json.loads(capsys.readouterr().out)
    assert header["keep"] == 0.1 and header["keep_threshold"] == 429496729 and header["damage"] is None


def test_demo_refuses_a_bad_keep_before_printing(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--keep", "0,0.1"])
    captured = capsys.readouterr()
    assert e.value.code == 2 and captured.out == "" and "keep (--keep) must be in (0, 1]" in captured.err


def test_bench_defaults_to_what_users_decode_with():
    from maskcodec.tools import bench
    chosen = bench._check_inpainters(None, bench._installed_models())
    assert chosen == ["linear", "nconv", "predictor", "default-d", "gray-default-d"]  # not every paper model


def test_bench_prints_no_overlap_in_words(monkeypatch, capsys, tmp_path):
    from maskcodec.tools import bench
    fake = {"images": [], "runtime_s": 1.0, "timing": {"statement": "s"},
            "bd": [{"curve": "latent/x", "bd_rate_percent_mean": None, "bd_psnr_db_mean": None}]}
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: fake)
    parser = __import__("argparse").ArgumentParser()
    bench.configure_parser(parser)
    assert bench.run_cli(parser.parse_args([str(tmp_path), "-o", str(tmp_path)])) == 0
    out = capsys.readouterr().out
    assert "latent/x: BD-rate no overlap, BD-PSNR no overlap" in out and "n/a %" not in out


def test_no_models_installed_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path))  # a folder without manifest.json
    img = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(img, 0.1, seed=1)
    for call in (lambda: maskcodec.decode(data), lambda: maskcodec.decode(data, inpainter="default"),
                 lambda: maskcodec.encode(img, mode="latent", quality=1), lambda: maskcodec.denoise(img)):
        with pytest.raises(maskcodec.ModelError, match="no models are installed in .*reinstall maskcodec"):
            call()
    assert maskcodec.decode(data, inpainter="nconv").shape == img.shape  # classical inpainters need none


def test_batch_names_its_inpainters_and_refuses_a_bad_one_first(tmp_path, capsys):
    folder = tmp_path / "downlink"
    folder.mkdir()
    for name in ("rgb8_keep0.1", "gray8_keep0.25", "gray12_keep0.1"):
        shutil.copy(VECTORS / "valid" / f"{name}.mcx", folder)
    assert main(["decode", str(folder), "-o", str(tmp_path / "bad"), "-q", "--inpainter", "nope"]) == 2
    assert "unknown inpainter or model 'nope'" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    assert main(["decode", str(folder), "-o", str(tmp_path / "out"), "-q"]) == 0
    out = capsys.readouterr().out  # what filled each frame, counted (the held-back trial chose)
    counts = re.search(r"decoded 3 of 3 files into .*; (.*)\)", out).group(1)
    names = re.findall(r"inpainter (\S+) \((\d)\)", counts)
    assert sum(int(n) for _, n in names) == 3 and {m for m, _ in names} <= {"linear", "predictor", "gray-default-d", "default-d"}


def test_info_on_a_stream_whose_first_segment_is_damaged(tmp_path, capsys):
    seg = bytearray(maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1, seed=1, segment_size=1024))
    seg[20] ^= 0xFF  # inside segment 0's header
    (tmp_path / "s.mcx").write_bytes(bytes(seg))
    assert main(["info", str(tmp_path / "s.mcx")]) == 1
    out = capsys.readouterr().out
    assert "251 x 317 x 3" in out and "DAMAGED" in out and "salvage would recover" in out
    (tmp_path / "junk.mcx").write_bytes(b"\x89MCX" + bytes(10))  # a maskcodec file cut short: damaged
    assert main(["info", "--json", str(tmp_path / "junk.mcx")]) == 1
    assert "fixed header" in json.loads(capsys.readouterr().out)["damage"]


def test_output_and_format_must_agree(tmp_path, capsys):
    src = VECTORS / "valid" / "rgb8_keep0.1.mcx"
    assert main(["decode", str(src), "-o", str(tmp_path / "x.png"), "--format", "npy"]) == 2
    assert "disagree" in capsys.readouterr().err
    assert main(["decode", str(src), "-o", str(tmp_path / "x.npy"), "--format", "npy", "--inpainter", "nconv"]) == 0


def test_no_salvage_hint_for_bytes_that_are_not_maskcodec():
    with pytest.raises(maskcodec.FormatError) as info:
        maskcodec.decode(b"\x89PNG\r\n\x1a\n" + bytes(40))
    assert "salvage" not in str(info.value) and "not a maskcodec file" in str(info.value)


def test_bench_models_checks_scikit_image_before_any_work(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "skimage", None)
    assert main(["bench-models", str(sample_path("mastcam_pano")), "-o", "unused2", "-q"]) == 2
    assert "pip install 'maskcodec[bench]'" in capsys.readouterr().err and not Path("unused2").exists()


def test_a_refused_batch_leaves_no_output_folder(tmp_path, capsys):
    folder = tmp_path / "dl"
    folder.mkdir()
    rgb = maskcodec.sample_image("mastcam")
    (folder / "a.mcx").write_bytes(maskcodec.encode(np.dstack([rgb, rgb[..., :2]]), 0.25, seed=3))  # 5 bands
    shutil.copy(VECTORS / "valid" / "rgb8_keep0.1.mcx", folder / "b.mcx")
    out = tmp_path / "new" / "out"
    assert main(["decode", str(folder), "-o", str(out), "--format", "png", "-q"]) == 2
    assert "PNG cannot hold a uint8 image with 5 channels" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_stumbles_get_one_line_messages_that_name_flags(tmp_path, capsys):
    """What a new user ran into (issue 29): each refusal is one line, names the flag or the file, and holds no
    Python exception text."""
    import struct
    import zlib
    gray = maskcodec.sample_image("navcam")
    first = maskcodec.encode(gray, 0.1, seed=1)
    (tmp_path / "a.mcx").write_bytes(first)
    (tmp_path / "b.mcx").write_bytes(maskcodec.refine(gray, [first], 0.3))
    np.save(tmp_path / "int32.npy", gray.astype(np.int32))
    np.save(tmp_path / "float.npy", gray.astype(np.float32) / 255)
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")))
    cases = [
        (["decode", str(tmp_path / "b.mcx"), str(tmp_path / "a.mcx"), "-o", str(tmp_path / "x.png")],
         "the chain's first file is a refinement"),
        (["bench-loss", str(tmp_path / "a.mcx"), "--packet", "10"], "--packet must be a whole number of bytes"),
        (["decode", str(tmp_path / "a.mcx"), "--workers", "0"], "--workers must be a positive number"),
        (["encode", str(tmp_path / "float.npy")], "need a quantization to integers: give --quantize auto"),
        (["encode", str(tmp_path / "objects.npy")], "holds Python objects"),
        (["encode", str(tmp_path / "missing.png")], "missing.png: no such image file"),
        (["encode", str(tmp_path / "x.jpg")], "encode also reads mission products: .img, .lbl, .xml"),
        (["encode", str(tmp_path / "huge.png")], "exceed maskcodec's limits"),
        (["encode", str(tmp_path / "int32.npy"), "--keep", "2"], "keep (--keep) must be in (0, 1]"),
    ]
    for argv, message in cases:
        try:  # a refusal by the argument parser exits (status 2); a later one returns 2
            status = main(argv)
        except SystemExit as e:
            status = e.code
        assert status == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
        assert "Error:" not in err and "Errno" not in err and "Traceback" not in err, err
    # options that do nothing here are said to do nothing
    out = tmp_path / "one.png"
    assert main(["decode", str(tmp_path / "a.mcx"), "-o", str(out), "--workers", "2", "--salvage"]) == 0
    err = capsys.readouterr().err
    assert "--workers applies to batches" in err and "--salvage applies to segmented streams" in err
    with pytest.raises(maskcodec.FormatError, match="this is a single container .* decode\\(\\) reads it"):
        maskcodec.salvage(first)


def test_batch_encode_of_files_and_folders(tmp_path, capsys):
    """Several inputs (files or folders) encode as a batch: one .mcx each, with the same options, into -o's
    folder or beside each input; outputs checked before the first encode."""
    src = tmp_path / "frames"
    src.mkdir()
    for name in ("mastcam", "navcam"):
        shutil.copy(sample_path(name), src / f"{name}.png")
    out = tmp_path / "enc"
    assert main(["encode", str(src), "-o", str(out), "--keep", "0.2", "--seed", "9", "--workers", "1", "-q"]) == 0
    assert "encoded 2 of 2 images" in capsys.readouterr().out
    for name in ("mastcam", "navcam"):
        data = (out / f"{name}.mcx").read_bytes()
        assert data == maskcodec.encode(read_image(src / f"{name}.png"), 0.2, seed=9)
    assert main(["encode", str(src / "mastcam.png"), str(src / "navcam.png"), "--keep", "0.2", "-q"]) == 0
    assert sorted(p.name for p in src.iterdir()) == ["mastcam.mcx", "mastcam.png", "navcam.mcx", "navcam.png"]
    capsys.readouterr()
    assert main(["encode", str(src), "-o", str(out), "-q"]) == 2  # the outputs exist
    assert "exists; choose another output (-o) or overwrite it with --force" in capsys.readouterr().err
    assert main(["encode", str(src / "mastcam.png"), str(src / "navcam.png"), "-o", str(tmp_path / "x.mcx")]) == 2
    assert "several inputs encode into a folder" in capsys.readouterr().err


def test_stretch_writes_a_viewable_frame_and_says_it_is_not_the_data(rgb16, tmp_path, capsys):
    out = tmp_path / "view.tif"
    assert main(["decode", str(rgb16), "-o", str(out), "--stretch", "--inpainter", "linear"]) == 0
    assert "stretched for viewing" in capsys.readouterr().err
    plain = tmp_path / "plain.tif"
    assert main(["decode", str(rgb16), "-o", str(plain), "--inpainter", "linear"]) == 0
    from maskcodec.io.images import scale_up
    assert (read_image(out) == scale_up(read_image(plain), 12)).all()


def test_every_command_help_teaches_by_example(capsys):
    from maskcodec.tools import TOOLS
    for command in ["encode", "decode", "info", *TOOLS]:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out.split("\n", 2)[-1]  # past the usage line
        assert f"maskcodec {command} " in text.replace("\n", " "), command
