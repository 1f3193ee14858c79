"""``python -m maskcodec.tools.train CONFIG.json``: see :mod:`maskcodec.tools.train.cli`."""
from __future__ import annotations

import argparse
import sys

from .cli import configure_parser, run_cli

if __name__ == "__main__":
    parser = configure_parser(argparse.ArgumentParser(prog="python -m maskcodec.tools.train",
                                                      description=__doc__))
    sys.exit(run_cli(parser.parse_args()))
