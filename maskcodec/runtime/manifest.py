"""The models manifest (``models/manifest.json``), read into typed entries in this one place.

Three kinds of model are listed, told apart here and nowhere else:

- :class:`InpainterEntry`: fills the pixels of a mask-mode file (``input`` is
  how it sees the kept pixels, see :mod:`maskcodec.runtime.onnx`);
- :class:`LatentEntry` (``"kind": "latent"``): the two halves of a latent-mode
  model (:mod:`maskcodec.modes.latent`);
- :class:`DenoiserEntry` (``"input": "image"``): cleans whole images
  (:func:`maskcodec.denoise`).

The folder is the one maskcodec was installed with (the wheel carries the
models; a checkout has ``models/``) unless ``$MASKCODEC_MODELS`` names
another, or a caller scopes one with :func:`using`. Reading the manifest needs
neither numpy nor onnxruntime.

Examples
--------
>>> from maskcodec.runtime import manifest
>>> entry = manifest.load().get("default")
>>> type(entry).__name__, entry.channels, entry.input
('InpainterEntry', 3, 'masked+mask')
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Union

from ..errors import InvalidInputError, ModelError

__all__ = ["ModelFile", "InpainterEntry", "LatentEntry", "DenoiserEntry", "Entry", "Manifest", "models_dir",
           "using", "load", "sha256_file", "shipped_dir", "ENV"]

ENV = "MASKCODEC_MODELS"  # a user's own models folder
_scoped: list[Path] = []  # folders named by `using`, innermost last


@dataclass(frozen=True)
class ModelFile:
    """One ONNX file of a model and the SHA-256 it must hash to."""

    file: str
    sha256: str


@dataclass(frozen=True)
class InpainterEntry:
    """A model that inpaints mask-mode files."""

    id: str
    onnx: ModelFile
    input: str
    channels: int
    multiple: int = 16
    default_for: tuple[str, ...] = ()          # dtypes for which ``auto`` picks it
    training_keep: tuple[float, float] | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    kind = "inpainter"


@dataclass(frozen=True)
class LatentEntry:
    """A latent-mode model: encoder and decoder halves, the latent's shape and how it is coded."""

    id: str
    encoder: ModelFile
    decoder: ModelFile
    channels: int
    latent_channels: int
    factor: int
    quantization: str
    coder: str = "zstd"
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    kind = "latent"


@dataclass(frozen=True)
class DenoiserEntry:
    """A model that removes noise from whole images (input kind ``"image"``)."""

    id: str
    onnx: ModelFile
    channels: int
    multiple: int = 16
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    kind = "denoiser"


Entry = Union[InpainterEntry, LatentEntry, DenoiserEntry]


def _file(raw: dict) -> ModelFile:
    return ModelFile(file=raw["file"], sha256=raw["sha256"])


def _entry(raw: dict) -> Entry:
    """The typed entry of one manifest dict (the one place where model kinds are told apart)."""
    if raw.get("kind") == "latent":
        return LatentEntry(id=raw["id"], encoder=_file(raw["encoder"]), decoder=_file(raw["decoder"]),
                           channels=int(raw["channels"]), latent_channels=int(raw["latent_channels"]),
                           factor=int(raw["factor"]), quantization=raw["quantization"],
                           coder=raw.get("coder", "zstd"), raw=raw)
    if raw.get("input") == "image":
        return DenoiserEntry(id=raw["id"], onnx=_file(raw), channels=int(raw["channels"]),
                             multiple=int(raw.get("multiple", 16)), raw=raw)
    keep = raw.get("training", {}).get("keep")
    return InpainterEntry(id=raw["id"], onnx=_file(raw), input=raw["input"], channels=int(raw["channels"]),
                          multiple=int(raw.get("multiple", 16)), default_for=tuple(raw.get("default_for", ())),
                          training_keep=tuple(keep) if keep else None, raw=raw)


@dataclass(frozen=True)
class Manifest:
    """The entries of one models folder, by id, in manifest order."""

    folder: Path
    entries: dict[str, Entry]
    present: bool = True  # whether the folder has a manifest.json at all

    def get(self, model_id: str) -> Entry:
        """The entry of ``model_id``; an unknown id is an :class:`~maskcodec.errors.InvalidInputError`,
        and a folder without any models a :class:`~maskcodec.errors.ModelError` that says how to get them."""
        self.require()
        if not isinstance(model_id, str) or model_id not in self.entries:
            raise InvalidInputError(f"unknown model {model_id!r}; the models in {self.folder} are "
                                    f"{sorted(self.entries) or '(none)'}")
        return self.entries[model_id]

    def require(self) -> None:
        """Refuse a models folder that has no ``manifest.json``: no model is installed there."""
        if not self.present:
            raise ModelError(f"no models are installed in {self.folder} (it has no manifest.json): reinstall "
                             f"maskcodec (the wheel carries its models) or point ${ENV} at a models folder; "
                             f"classical inpainters (--inpainter linear or nconv) need no model")

    def of_kind(self, kind: type) -> dict[str, Entry]:
        """The entries of one kind (:class:`InpainterEntry`, :class:`LatentEntry` or :class:`DenoiserEntry`)."""
        return {k: e for k, e in self.entries.items() if isinstance(e, kind)}

    def path(self, f: ModelFile) -> Path:
        """Where a model file lies."""
        return self.folder / f.file


def shipped_dir() -> Path:
    """The models that came with maskcodec: ``maskcodec/shipped_models`` in an installed wheel, the
    project's ``models/`` in a source checkout."""
    package = Path(__file__).resolve().parents[1]
    wheel = package / "shipped_models"
    return wheel if (wheel / "manifest.json").exists() else package.parent / "models"


def models_dir() -> Path:
    """Where the ONNX models and ``manifest.json`` are looked for: the folder scoped by :func:`using`,
    else ``$MASKCODEC_MODELS``, else the models that came with maskcodec (:func:`shipped_dir`)."""
    if _scoped:
        return _scoped[-1]
    env = os.environ.get(ENV)
    return Path(env) if env else shipped_dir()


@contextlib.contextmanager
def using(folder: str | os.PathLike) -> Iterator[Path]:
    """Look for models in ``folder`` inside the ``with`` block (training checks a model it just wrote)."""
    _scoped.append(Path(folder))
    try:
        yield _scoped[-1]
    finally:
        _scoped.pop()


def load() -> Manifest:
    """The manifest of :func:`models_dir` (no entries when it has no ``manifest.json``)."""
    folder = models_dir()
    path = folder / "manifest.json"
    if not path.exists():
        return Manifest(folder, {}, present=False)
    try:
        raws = json.loads(path.read_text())["models"]
        entries = [_entry(r) for r in raws]
    except json.JSONDecodeError as e:
        raise ModelError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg.lower()})") from None
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{path} has a malformed entry (a field missing or of the wrong type); expected the "
                         f"fields of models/manifest.json") from None
    return Manifest(folder, {e.id: e for e in entries})


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
