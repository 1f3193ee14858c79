"""Tools built on the library, outside what ``import maskcodec`` loads.

- :mod:`.bench` (``maskcodec bench``): quality per byte and speed against JPEG2000 and JPEG;
- :mod:`.modelbench` (``maskcodec bench-models``): every inpainter on the same kept pixels;
- :mod:`.lossbench` (``maskcodec bench-loss``): damaged downlinks, salvage against JPEG2000;
- :mod:`.autobench` (``maskcodec bench-auto``): ``auto``'s choice and estimated PSNR per camera;
- :mod:`.codingbench` (``maskcodec bench-coding``): predictive coding, bounded error, refinement chains;
- :mod:`.reference_codecs`: the JPEG2000 and JPEG anchors (Pillow/OpenJPEG);
- :mod:`.demo` (``maskcodec demo``): the bundled sample at several keep levels;
- :mod:`.train` (``maskcodec train``): training and ONNX export (needs the ``train`` extra).

Each command module has ``configure_parser(p)`` and ``run_cli(args)``; the
command line imports a tool only when its command runs.
"""
