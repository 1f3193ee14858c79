"""The package's shape: what ``import maskcodec`` loads, who imports whom, and errors at the boundary."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec import options
from maskcodec.cli import main
from maskcodec.errors import MissingDependencyError
from maskcodec.framing import container
from maskcodec.framing.fixed import MODE_MASK
from maskcodec.framing.zstd_frame import compress
from maskcodec.optional import require

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "maskcodec"
VECTORS = ROOT / "spec" / "vectors"
# maskcodec.tools itself (the registry of commands, a dict) loads with the command line; no tool module may
HEAVY = ("scipy", "onnxruntime", "torch", "matplotlib", "onnx", "skimage", "maskcodec.tools.")


def _loaded_after(code: str) -> list[str]:
    """The heavy modules in ``sys.modules`` of a fresh interpreter after ``code`` ran."""
    probe = (f"import sys\n{code}\n"
             f"print([m for m in sys.modules if m.startswith({HEAVY!r})])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return eval(out.stdout.strip().splitlines()[-1])


def test_import_maskcodec_and_encoding_load_nothing_heavy():
    code = ("import maskcodec\n"
            "data = maskcodec.encode(maskcodec.sample_image('mastcam'), keep=0.1, seed=1)\n"
            "maskcodec.inspect(data)\n"
            "maskcodec.metrics.psnr(maskcodec.sample_image('navcam'), maskcodec.sample_image('navcam'))")
    assert _loaded_after(code) == []


def test_info_and_version_load_nothing_heavy():
    vector = VECTORS / "valid" / "rgb8_keep0.1.mcx"
    code = ("from maskcodec.cli import main\n"
            f"assert main(['info', {str(vector)!r}]) == 0\n"
            f"assert main(['info', '--json', {str(vector)!r}]) == 0\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass")
    assert _loaded_after(code) == []


def test_decoding_loads_scipy_only_when_it_inpaints():
    code = ("import maskcodec\n"
            "d = maskcodec.encode(maskcodec.sample_image('navcam'), 0.2, seed=1)\n"
            "maskcodec.decode(d, inpainter='nconv')")
    assert [m for m in _loaded_after(code) if not m.startswith("scipy")] == []


def _imports(path: Path) -> set[str]:
    """Modules of maskcodec that the file at ``path`` imports anywhere (module level or in a function)."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if path.name == "__init__.py":
        module = package
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]
            found |= {n for n in names if _is_module(n)} or ({base} if _is_module(base) else set())
            if any(not _is_module(n) for n in names) and _is_module(base):
                found.add(base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if _is_module(a.name)}
    return {m for m in found if m.startswith("maskcodec") and m != module}


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT / rel).with_suffix(".py").exists() or (ROOT / rel / "__init__.py").exists()


LIBRARY = sorted(p for p in PACKAGE.rglob("*.py") if not {"tools"} & set(p.relative_to(PACKAGE).parts) and p.name != "cli.py")


def _name(p: Path) -> str:
    parts = p.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_framing_knows_bytes_only():
    for path in (PACKAGE / "framing").glob("*.py"):
        outside = {m for m in _imports(path) if not m.startswith("maskcodec.framing")}
        assert outside <= {"maskcodec.errors", "maskcodec.records"}, (path.name, outside)


# The layers, bottom first (docs/layout.md): a module may import its own layer's modules and those of
# layers below it, never above. Top-level modules are placed by name; a folder is one layer.
LAYERS = [
    {"errors", "records", "optional", "metrics"},
    {"framing"}, {"masks"}, {"entropy"}, {"survivors"}, {"runtime"}, {"inpainting"},
    {"options", "budgets"}, {"modes"}, {"io"}, {"codec", ""}, {"integrations"}, {"tools"}, {"cli", "__main__"},
]


def _layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    return next(i for i, names in enumerate(LAYERS) if part in names)


def _private_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every private name (``_x``) that the file at ``path`` imports from another folder."""
    found = set()
    own = _name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _name(path)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            package = own.split(".")
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            folder = base.split(".")[:2]
            if folder != own.split(".")[:2]:
                found |= {(base, a.name) for a in node.names if a.name.startswith("_") and not a.name.startswith("__")}
    return found


def test_each_folder_imports_only_the_folders_below_it_and_no_private_names():
    every = sorted(PACKAGE.rglob("*.py"))
    for path in every:
        module = _name(path)
        for dep in _imports(path):
            if dep == "maskcodec" and module.startswith("maskcodec.tools"):
                continue  # the tools read __version__
            assert _layer(dep) <= _layer(module), f"{module} imports {dep}, a layer above it"
        assert not _private_names(path), (module, _private_names(path))


def test_the_library_has_no_import_circle_and_never_imports_the_tools():
    graph = {_name(p): {m for m in _imports(p) if m != "maskcodec"} for p in LIBRARY}
    for module, deps in graph.items():
        assert not any(d.startswith("maskcodec.tools") for d in deps), module
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        if state.get(m) == 1:
            raise AssertionError(f"import circle: {' -> '.join(path + [m])}")
        if state.get(m) == 2:
            return
        state[m] = 1
        for d in sorted(graph.get(m, ())):
            visit(d, path + [m])
        state[m] = 2

    for m in sorted(graph):
        visit(m, [])


def test_hostile_sample_count_is_refused_before_any_allocation():
    data = (VECTORS / "errors" / "hostile_sample_count.mcx").read_bytes()
    assert len(data) < 120
    tracemalloc.start()
    with pytest.raises(maskcodec.LimitExceededError, match="samples"):
        maskcodec.decode(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20
    # three channels: 805 M samples, once decoded to a 1.5 GiB image
    rgb = container.build(shape=(16384, 16384, 3), dtype=np.dtype(np.uint16), bits=16, mode=MODE_MASK,
                          payload=compress(b""), payload_raw_size=0, transform=1, seed=1, survivors=0)
    with pytest.raises(maskcodec.LimitExceededError, match="805306368 samples"):
        maskcodec.inspect(rgb)
    with pytest.raises(maskcodec.InvalidInputError, match="samples"):
        maskcodec.encode(np.zeros((9000, 9000, 4), np.uint8), 0.1, seed=1)


def test_pixel_count_must_stay_below_two_to_the_32():
    data = container.build(shape=(65536, 65536), dtype=np.dtype(np.uint8), bits=8, mode=MODE_MASK,
                           payload=compress(b""), payload_raw_size=0, seed=1, survivors=0)
    limits = maskcodec.Limits(max_pixels=1 << 40, max_samples=1 << 40)
    with pytest.raises(maskcodec.FormatError, match="below 2\\^32"):
        maskcodec.inspect(data, limits=limits)


def test_uint16_with_eight_significant_bits_round_trips():
    image = maskcodec.sample_image("navcam").astype(np.uint16)
    data = maskcodec.encode(image, 0.25, seed=3, bits=8)
    h = maskcodec.inspect(data)
    assert h.dtype == "uint16" and h.bits == 8 and h.payload_raw_size == h.survivors  # one byte a value
    out = maskcodec.decode(data, inpainter="nconv")
    m = maskcodec.mask(image.shape, 0.25, 3)
    assert out.dtype == np.uint16 and (out[m] == image[m]).all()
    seg = maskcodec.encode(image, 0.25, seed=3, bits=8, segment_size=512)
    assert (maskcodec.survivors(seg)[2] == maskcodec.survivors(data)[2]).all()


def test_denoise_refuses_a_latent_model_by_name():
    with pytest.raises(maskcodec.ModelError, match="'latent-q1' is a latent model, not a denoiser"):
        maskcodec.denoise(maskcodec.sample_image("mastcam"), model="latent-q1")
    with pytest.raises(maskcodec.ModelError, match="is an inpainter, not a denoiser"):
        maskcodec.denoise(maskcodec.sample_image("mastcam"), model="default")


def test_options_are_checked_before_any_pixel_work(monkeypatch):
    def no_pixel_work(*args, **kwargs):
        raise AssertionError("the mask was computed before the options were checked")

    monkeypatch.setattr(maskcodec.masks, "kept_indices", no_pixel_work)
    image = maskcodec.sample_image("mastcam")
    bad = [dict(segment_size=10), dict(segment_size=1024, coding="scan"), dict(model="x" * 65),
           dict(metadata={"big": "x" * (1 << 20)}), dict(metadata={"nan": float("nan")}), dict(keep=0),
           dict(seed=-1), dict(bits=17), dict(bits=True), dict(model="no-such-model"), dict(quality=1)]
    for kwargs in bad:
        with pytest.raises(maskcodec.InvalidInputError):
            maskcodec.encode(image, **kwargs)
    with pytest.raises(maskcodec.InvalidInputError, match="bits \\(--bits\\) must be in 1..8 for uint8"):
        maskcodec.encode(image, bits=12)


def test_one_keep_check_everywhere():
    for text in ("0", "1.5", "nan", "abc", "0.5,,0.1"):
        with pytest.raises(maskcodec.InvalidInputError, match="keep"):
            options.parse_keeps(text)
    assert options.parse_keeps("0.5,0.1") == (0.5, 0.1)
    assert options.resolve(keep=1).threshold == 2 ** 32 - 1


def test_zarr_codec_checks_bits_against_the_chunk():
    pytest.importorskip("numcodecs")
    from maskcodec.integrations.zarr_codec import Maskcodec
    with pytest.raises(maskcodec.InvalidInputError, match="1..8 for uint8"):
        Maskcodec(keep=0.25, bits=12).encode(maskcodec.sample_image("navcam")[None])


def test_missing_optional_dependency_is_one_error_naming_the_extra():
    with pytest.raises(MissingDependencyError, match=r"pip install 'maskcodec\[bench\]'") as info:
        require("matplotlib.no_such_submodule", "a figure")
    assert isinstance(info.value, ImportError) and isinstance(info.value, maskcodec.MaskcodecError)


def test_train_with_a_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid JSON" in err and "Traceback" not in err
    assert main(["train", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the model config" in capsys.readouterr().err
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"id": "x", "arch": "paper_cae", "no_such_key": 1}))
    pytest.importorskip("torch", reason="needs torch, the CPU build: pip install torch==2.13.0+cpu (docs/training.md)")
    assert main(["train", str(unknown)]) == 2
    assert "unknown config keys ['no_such_key']" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["bench", "bench-models"])
def test_benchmarks_without_matplotlib_say_so_before_any_work(command, monkeypatch, capsys):
    from maskcodec.io.samples import sample_path
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the 'bench' extra were not installed
    assert main([command, str(sample_path("mastcam_pano")), "-o", "unused", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'maskcodec[bench]'" in err and "Traceback" not in err
    assert not Path("unused").exists()


def test_header_description_fields_are_the_spec_table():
    """Every key ``info --json`` prints is a row of spec section 10.1, and every row is printed."""
    text = (ROOT / "spec" / "format.md").read_text()
    table = text[text.index("### 10.1"):text.index("## 11.")]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    keys = {k.strip(" `") for row in rows for k in row.split(",")}
    latent = maskcodec.inspect((VECTORS / "valid" / "latent_rgb8_context.mcx").read_bytes()).to_json()
    mask = maskcodec.inspect((VECTORS / "valid" / "rgb8_keep0.1.mcx").read_bytes()).to_json()
    assert keys == set(latent) == set(mask) | {"latent"}


def test_metadata_bytes_follow_spec_section_4_1():
    from maskcodec.framing.fixed import encode_metadata
    data = (VECTORS / "valid" / "gray8_meta_unicode_keep0.25.mcx").read_bytes()
    h = maskcodec.inspect(data)
    m = int.from_bytes(data[69:73], "little")  # no model id: metadata_length at offset 69
    assert data[73:73 + m] == encode_metadata(h.metadata) and max(data[73:73 + m]) < 0x80
    assert b"\\ud83d\\ude00" in data[73:73 + m] and encode_metadata({}) == b""


def test_classical_names_are_the_classical_inpainters():
    from maskcodec.inpainting.classical import CLASSICAL
    from maskcodec.inpainting import CLASSICAL_NAMES, FALLBACK
    assert set(CLASSICAL_NAMES) == set(CLASSICAL) and set(FALLBACK.values()) <= set(CLASSICAL)


def test_following_encode_and_decode_returns_to_few_modules():
    """The flow of an encode and a decode of a mask-mode file (tests/flow_trace.py; counted 16 and 55 before
    the layout by stage, docs/layout.md): a regression guard at today's counts."""
    from flow_trace import follow
    image = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(image, keep=0.1, seed=1)
    maskcodec.decode(data)
    assert follow(maskcodec.encode, image, keep=0.1, seed=1)[0] <= 11
    assert follow(maskcodec.decode, data)[0] <= 31
