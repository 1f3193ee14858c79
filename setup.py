"""The C extension maskcodec.survivors._flight: the flight core's survivor coder (flight/src, C99) and its CPython
wrapper (flight/python/flight_module.c). Everything else about the package is in pyproject.toml.

The wrapper uses the CPython C API and the buffer protocol only, so the build needs no numpy headers. It is
compiled with -std=c99 -Wall -Wextra where the compiler takes them: each flag is tried on an empty file first
(with -Werror, so a compiler that merely warns of an unknown flag drops it), and MSVC gets /W3.
"""
from __future__ import annotations

import os
import tempfile
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

UNIX_FLAGS = ("-std=c99", "-Wall", "-Wextra")


def _accepts(compiler, flag: str) -> bool:
    """Whether ``compiler`` compiles an empty C file with ``flag`` without a warning."""
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "flag.c")
        with open(source, "w") as f:
            f.write("int main(void) { return 0; }\n")
        try:
            compiler.compile([source], output_dir=folder, extra_postargs=[flag, "-Werror"])
        except Exception:  # CompileError, or the compiler missing altogether (the real build then says so)
            return False
    return True


class BuildExt(build_ext):
    """build_ext with the warning and standard flags the compiler accepts."""

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            flags = ["/W3"]
        else:
            flags = [f for f in UNIX_FLAGS if _accepts(self.compiler, f)]
        for ext in self.extensions:
            ext.extra_compile_args = flags + list(ext.extra_compile_args or [])
        super().build_extensions()


FLIGHT = Extension(
    "maskcodec.survivors._flight",
    # the container (flight/src/container.c) is the flight tools'; the package reads containers in Python
    sources=["flight/src/mask.c", "flight/src/range_coder.c", "flight/src/ranked.c", "flight/src/segment.c",
             "flight/src/fill.c", "flight/python/flight_module.c"],
    include_dirs=["flight/include"],
    depends=["flight/include/maskcodec.h", *sorted(glob("flight/src/*.h"))],
)

setup(ext_modules=[FLIGHT], cmdclass={"build_ext": BuildExt})
