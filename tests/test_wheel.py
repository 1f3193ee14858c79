"""What a user installs is what we measured: the built wheel, installed non-editable, run from another folder.

The wheel holds the C extension maskcodec.survivors._flight (setup.py), so it is built for this interpreter and
platform (``cp311-cp311-linux_x86_64`` here), and the installed package codes survivors in C."""
from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys
from pathlib import Path
import numpy as np
import maskcodec
from maskcodec.cli import main, spec_path
from maskcodec.inpainting import choose
from maskcodec.runtime.manifest import load
from maskcodec.survivors import _flight, ranked
img = maskcodec.sample_image("mastcam")
data = maskcodec.encode(img, keep=0.1, seed=7)
auto = maskcodec.decode(data)
latent = maskcodec.encode(img, mode="latent", quality=1)
noisy = img.copy(); noisy[::7, ::5] = 255
clean = maskcodec.denoise(noisy)
main(["demo", "-o", "demo", "--keep", "0.1"])
print(json.dumps({
    "file": maskcodec.__file__,
    "models": str(load().folder), "entries": len(load().entries),
    "auto": choose("auto", maskcodec.inspect(data)),
    "auto_is_default": bool(np.array_equal(auto, maskcodec.decode(data, inpainter="default-d"))),
    "auto_differs_from_nconv": not np.array_equal(auto, maskcodec.decode(data, inpainter="nconv")),
    "latent_psnr": maskcodec.metrics.psnr(img, maskcodec.decode(latent)),
    "latents": list(maskcodec.latents(latent).shape),
    "denoised": bool(maskcodec.metrics.psnr(img, clean) > maskcodec.metrics.psnr(img, noisy)),
    "spec": spec_path().is_file(),
    "coder": ranked.IMPLEMENTATION, "extension": _flight.__file__,
}))
"""


def _see_running_packages(python: Path) -> None:
    """Let the probe environment ``python`` import the dependencies installed where the tests run.

    ``venv --system-site-packages`` would give it the *base* interpreter's packages, which inside a virtual
    environment are not the running one's (a fresh venv's base has no construct). A ``.pth`` file in the probe's
    own site-packages lists the running interpreter's site-packages folders instead: they come after the
    probe's own folder on ``sys.path`` (so the installed wheel wins), and the ``.pth`` files inside them (an
    editable install's path to the checkout) are not processed."""
    probe_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    running = dict.fromkeys(site.getsitepackages() + [sysconfig.get_paths()["purelib"],
                                                      sysconfig.get_paths()["platlib"]])
    (Path(probe_site) / "_running_site_packages.pth").write_text("".join(f"{p}\n" for p in running))


MAX_WHEEL_BYTES = 60_000_000  # issue 32: the wheel stays under 60 MB, whatever models ship
# the wheel's tag: this CPython and platform, for the compiled extension
PY = f"cp{sys.version_info.major}{sys.version_info.minor}"
TAG = f"{PY}-{PY}-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")
EXTENSION = "maskcodec/survivors/_flight" + sysconfig.get_config_var("EXT_SUFFIX")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The wheel pip builds from the checkout, and what the build printed (verbose, warnings included)."""
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy without build outputs: setuptools' build/lib keeps modules the checkout no longer has
    # and would put them in the wheel, as it did on a machine that built before issue 26 moved them.
    source = tmp_path_factory.mktemp("source") / "maskcodec"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache",
        "*.so", "*.pyd"))  # the extension pip install -e . built in place: the wheel's is built afresh
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w",
                          str(out), str(source)], check=True, cwd=out, capture_output=True, text=True)
    wheel, = out.glob(f"maskcodec-*-{TAG}.whl")
    return wheel, run.stdout + run.stderr


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    return built[0]


def test_the_build_warns_of_nothing_of_ours_and_the_wheel_is_small(built):
    wheel, log = built
    ours = [line for line in log.splitlines()
            if "warning" in line.lower() and ("maskcodec" in line or "package" in line.lower())]
    assert not ours, ours
    assert wheel.stat().st_size <= MAX_WHEEL_BYTES, wheel.stat().st_size


def test_wheel_carries_models_spec_and_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    for entry in manifest["models"]:
        files = [entry[half]["file"] for half in ("encoder", "decoder")] if entry.get("kind") == "latent" \
            else [entry["file"]]
        for f in files:
            assert f"maskcodec/shipped_models/{f}" in names, f
    assert "maskcodec/shipped_models/manifest.json" in names
    assert "maskcodec/shipped_spec/format.md" in names and "maskcodec/masks/bluenoise128.u16" in names
    assert "maskcodec/io/sample_images/mastcam.png" in names and "maskcodec/io/sample_images/CREDITS.md" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "models/", "spec/", "flight/")) for n in names)
    modules = {n for n in names if n.startswith("maskcodec/") and n.endswith(".py") and not n.startswith("maskcodec/shipped_")}
    assert modules == {p.relative_to(ROOT).as_posix() for p in (ROOT / "maskcodec").rglob("*.py")}
    compiled = {n for n in names if n.endswith((".so", ".pyd", ".dll", ".dylib"))}
    assert compiled == {EXTENSION}, compiled  # the extension, and nothing else compiled


def test_installed_wheel_decodes_with_the_shipped_models(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    _see_running_packages(python)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    run = subprocess.run([str(python), "-c", PROBE], cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    got = json.loads(lines[-1])
    assert got["file"].startswith(str(venv)), got["file"]  # the wheel's copy, not the checkout
    assert got["models"].startswith(str(venv)) and got["entries"] >= 15
    assert got["auto"] == "default-d" and got["auto_is_default"] and got["auto_differs_from_nconv"]
    assert got["latent_psnr"] > 25 and got["latents"] == [64, 16, 20] and got["denoised"] and got["spec"]
    assert got["coder"] == "C (flight core)" and got["extension"].startswith(str(venv)), got["extension"]
    assert any(line.startswith("inpainter: auto (default-d or linear or predictor,") for line in lines)  # the demo names the shipped model
