"""Tools built on the library, outside what ``import maskcodec`` loads.

- :mod:`.bench` (``maskcodec bench``): quality per byte and speed against JPEG2000 and JPEG;
- :mod:`.modelbench` (``maskcodec bench-models``): every inpainter on the same kept pixels;
- :mod:`.lossbench` (``maskcodec bench-loss``): damaged downlinks, salvage against JPEG2000;
- :mod:`.autobench` (``maskcodec bench-auto``): ``auto``'s choice and estimated PSNR per camera;
- :mod:`.codingbench` (``maskcodec bench-coding``): predictive coding, bounded error, refinement chains;
- :mod:`.frontier` (``maskcodec bench-frontier``): the keep and max_error frontier byte budgets start from;
- :mod:`.budgetbench` (``maskcodec bench-budget``): byte budgets held, and their gain over exact keep;
- :mod:`.reference_codecs`: the JPEG2000 and JPEG anchors (Pillow/OpenJPEG);
- :mod:`.demo` (``maskcodec demo``): the bundled sample at several keep levels;
- :mod:`.train` (``maskcodec train``): training and ONNX export (needs the ``train`` extra).

Each command module has ``configure_parser(p)`` and ``run_cli(args)``; :data:`TOOLS`
is the registry the command line reads (a new tool is a module and one line
here), and it imports a tool only when its command runs. The tools import the
library, never the command line; the library never imports them.
"""

__all__ = ["TOOLS"]

TOOLS = {
    "demo": ("demo", "encode a bundled real Mars image at several keep levels, beside JPEG2000, HTJ2K, JPEG-XL"),
    "bench": ("bench", "quality per byte and speed against JPEG2000, HTJ2K, JPEG-XL and JPEG on real images"),
    "train": ("train", "train a CAE model from a JSON config and export it to ONNX (needs torch)"),
    "bench-loss": ("lossbench", "PSNR after lost/corrupted packets, maskcodec salvage vs JPEG2000"),
    "bench-models": ("modelbench", "every inpainter and model on the same kept pixels, with the paper's metrics"),
    "bench-auto": ("autobench", "does auto ever trail interpolation, and how true is its estimated PSNR, per camera"),
    "bench-latent": ("latentbench", "latent quality levels against JPEG2000, HTJ2K and JPEG-XL: BD-rate per camera"),
    "bench-coding": ("codingbench", "bits per kept pixel, what a bounded error buys, refinement chains vs lossless"),
    "bench-frontier": ("frontier", "which keep and max error decode best at each bit rate: what byte budgets start from"),
    "bench-budget": ("budgetbench", "byte budgets: every file within its budget, and the dB that choosing max error buys"),
}

