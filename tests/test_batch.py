"""Archive-scale decoding: decode_many in-process, on local processes and on dask."""
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.integrations.batch import BatchResult, decode_many
from maskcodec.errors import InvalidInputError
from maskcodec.io.images import read_image

KEEP = 0.2
FRAMES = {"navcam": 1, "navcam12": 2, "mastcam": 3, "mastcam_pano": 4}  # bundled real images and their seeds


@pytest.fixture(scope="module")
def downlink(tmp_path_factory) -> Path:
    """A folder of .mcx files of the bundled real images, plus one corrupted file."""
    folder = tmp_path_factory.mktemp("downlink")
    for name, seed in FRAMES.items():
        (folder / f"{name}.mcx").write_bytes(maskcodec.encode(maskcodec.sample_image(name), KEEP, seed=seed))
    good = (folder / "navcam.mcx").read_bytes()
    mid = len(good) // 2  # damage inside the payload
    (folder / "corrupt.mcx").write_bytes(good[:mid] + bytes(b ^ 0xFF for b in good[mid:mid + 16]) + good[mid + 16:])
    return folder


def check(result: BatchResult, out: Path, downlink: Path) -> None:
    assert result.decoded == len(FRAMES)
    assert [(p.name, "CRC32 does not match" in m) for p, m in result.failures] == [("corrupt.mcx", True)]
    assert result.seconds > 0 and result.frames_per_second > 0
    for name, seed in FRAMES.items():
        image, decoded = maskcodec.sample_image(name), read_image(out / f"{name}.png")
        m = maskcodec.mask(image.shape, KEEP, seed)
        assert decoded.shape == image.shape and np.array_equal(decoded[m], image[m])


@pytest.mark.parametrize("workers", [1, 2])
def test_local_processes(downlink, tmp_path, workers):
    inputs = sorted(downlink.glob("*.mcx"))
    result = decode_many(inputs, tmp_path / "out", inpainter="nconv", workers=workers, progress=False)
    check(result, tmp_path / "out", downlink)


def test_dask_local_cluster(downlink, tmp_path):
    pytest.importorskip("dask.distributed")
    inputs = sorted(downlink.glob("*.mcx"))
    result = decode_many(inputs, tmp_path / "out", inpainter="nconv", workers=2, scheduler="local", progress=False)
    check(result, tmp_path / "out", downlink)


def test_dask_scheduler_address(downlink, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    inputs = sorted(downlink.glob("*.mcx"))
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with cluster:
        result = decode_many(inputs, tmp_path / "out", inpainter="nconv", scheduler=cluster.scheduler_address,
                             progress=False)
    check(result, tmp_path / "out", downlink)


def test_salvage_decodes_a_damaged_segmented_stream(tmp_path, capsys):
    data = maskcodec.encode(maskcodec.sample_image("navcam"), KEEP, seed=1, segment_size=1024)
    (tmp_path / "lossy.mcx").write_bytes(data[:2048] + data[3072:])  # one 1 KiB packet lost
    strict = decode_many([tmp_path / "lossy.mcx"], tmp_path / "a", inpainter="nconv", workers=1, progress=False)
    assert strict.decoded == 0 and len(strict.failures) == 1
    salvaged = decode_many([tmp_path / "lossy.mcx"], tmp_path / "b", inpainter="nconv", workers=1, salvage=True)
    assert salvaged.decoded == 1 and (tmp_path / "b" / "lossy.png").exists()
    assert "salvaged" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    ({"fmt": ".jpg"}, "output type"),
    ({"workers": 0}, "workers"),
    ({"scheduler": "somewhere"}, "scheduler"),
])
def test_bad_arguments(downlink, tmp_path, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        decode_many([downlink / "navcam.mcx"], tmp_path, **kwargs)


def test_same_stem_twice_and_no_inputs_are_refused(downlink, tmp_path):
    other = tmp_path / "navcam.mcx"
    other.write_bytes((downlink / "navcam.mcx").read_bytes())
    with pytest.raises(InvalidInputError, match="navcam.png"):
        decode_many([downlink / "navcam.mcx", other], tmp_path / "out")
    with pytest.raises(InvalidInputError, match="no .mcx"):
        decode_many([], tmp_path / "out")
