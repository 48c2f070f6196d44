"""What a dependency prints while it is being imported is not the user's output: one line stays one line.

Libraries print when imported — bitsandbytes (which diffusers imports for its quantizers) logs "Failed to load
CPU gemm_4bit_forward from kernels-community ..." on CPUs with AVX512-BF16 when the optional `kernels` package is
missing or the hub is out of reach; others raise deprecation warnings or print banners. aigi-scd imports its
dependencies lazily, in the middle of commands, so such lines would land between its own. :func:`install` puts a
finder first on ``sys.meta_path`` that marks the thread executing any module outside aigi_scd, and wraps
``sys.stdout`` and ``sys.stderr`` so that what that thread writes while a module executes — ``print``, warnings,
log records (Python's last-resort handler and the handlers libraries create write to these streams) — is dropped.
Other threads and everything written after the import pass through untouched. ``aigi-scd -v`` shows it all.

Hand-written: the standard library has no per-import output filter, and redirecting the streams for a whole
command would also hide what libraries print at run time on purpose (download bars, errors).
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from typing import Any

OWN_PACKAGE = "aigi_scd"
_importing = threading.local()  # .depth: modules outside aigi_scd being executed by this thread now
_settings = {"quiet": True}


def importing() -> bool:
    """Whether this thread is executing a dependency's module right now (its output is import noise)."""
    return getattr(_importing, "depth", 0) > 0


class QuietStream:
    """A text stream that drops what is written during a dependency's import and passes everything else on."""

    def __init__(self, stream: Any):
        self._stream = stream

    @property
    def wrapped(self) -> Any:
        return self._stream

    def write(self, text: str) -> int:
        if _settings["quiet"] and importing():
            return len(text)
        return self._stream.write(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, buffer...
        return getattr(self._stream, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it asks the finders after it and makes the loader it gets mark its thread while it
    executes the module, so that QuietStream drops what the module prints."""

    def find_spec(self, name: str, path=None, target=None):
        if name.partition(".")[0] == OWN_PACKAGE:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                _mark_while_executing(spec.loader)
                return spec
        return None


def _mark_while_executing(loader: Any) -> None:
    # Loaders are per-module instances (a zip importer is shared: wrapped once); classes used as loaders (built-in
    # and frozen modules) are left alone.
    if loader is None or isinstance(loader, type) or not hasattr(loader, "__dict__"):
        return
    if "exec_module" in vars(loader) or not hasattr(loader, "exec_module"):
        return
    execute = loader.exec_module

    def exec_module(module) -> None:
        _importing.depth = getattr(_importing, "depth", 0) + 1
        try:
            execute(module)
        finally:
            _importing.depth -= 1

    loader.exec_module = exec_module


def install(quiet: bool = True) -> None:
    """Filter import noise from now on in this process (idempotent; the streams in place now are wrapped).
    `quiet=False` (``aigi-scd -v``) lets it through again."""
    _settings["quiet"] = quiet
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, QuietStream):
            setattr(sys, name, QuietStream(stream))
