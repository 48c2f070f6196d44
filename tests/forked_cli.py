"""Real `aigi-scd` runs in processes forked from a server that has imported the package and its libraries
once (multiprocessing's forkserver), so a test can start, interrupt and SIGKILL many runs without paying
~20 s of imports each time. Each run is a separate process with the command line's own exit code and its
output in a log file; a run may also get a file-size limit (RLIMIT_FSIZE: a "full disk" for files above
it) or a private mount namespace with a read-only or tiny tmpfs folder (needs CAP_SYS_ADMIN), whose content
`keep` copies out before the process (and its tmpfs) ends."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import resource
import shutil
import signal
from pathlib import Path

PRELOAD = [
    "aigi_scd.cli",
    "aigi_scd.build.run",
    "aigi_scd.build.refilter",
    "aigi_scd.bench.compress",
    "aigi_scd.bench.metrics",
    "aigi_scd.verify",
    "torch",
    "diffusers",
    # diffusers imports a pipeline's module on first use (~7 s for SDXL's): the tiny cards' own, up front
    "diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl",
    "diffusers.pipelines.pixart_alpha.pipeline_pixart_sigma",
    "transformers",
    "pyiqa",
    "datasets",
]
NO_NAMESPACE = 77  # exit code of a run that asked for a mount it could not make
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
CLONE_NEWNS = 0x00020000


def _mount(libc, source, target, fstype, flags, data) -> None:
    enc = [None if v is None else str(v).encode() for v in (source, target, fstype, data)]
    if libc.mount(enc[0], enc[1], enc[2], flags, enc[3]) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _isolate(read_only: Path | None, tmpfs: tuple[Path, str] | None) -> None:
    """A private mount namespace for this process: `read_only` bind-mounted read-only, `tmpfs` = (folder,
    size) mounted as a small tmpfs."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE, None)
    if read_only is not None:
        _mount(libc, read_only, read_only, None, MS_BIND, None)
        _mount(libc, None, read_only, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
    if tmpfs is not None:
        _mount(libc, "tmpfs", tmpfs[0], "tmpfs", 0, f"size={tmpfs[1]}")


def _child(argv: list[str], log: str, file_size: int | None, read_only: str | None, tmpfs, keep) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # what a terminal's Ctrl-C meets
    if read_only or tmpfs:
        try:
            _isolate(Path(read_only) if read_only else None, (Path(tmpfs[0]), tmpfs[1]) if tmpfs else None)
        except OSError as exc:
            print(f"no private mount namespace here: {exc}", flush=True)
            os._exit(NO_NAMESPACE)
    if file_size is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    from aigi_scd.cli import main

    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if keep is not None:  # a private tmpfs vanishes with the process: copy what the run left on it
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        shutil.copytree(keep[0], keep[1])
    os._exit(code)


class Run:
    """One started run: its process, its log, its exit code once it ends."""

    def __init__(self, argv, log: Path, file_size: int | None = None, read_only=None, tmpfs=None, keep=None):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self.log = Path(log)
        options = {
            "file_size": file_size,
            "read_only": str(read_only) if read_only else None,
            "tmpfs": (str(tmpfs[0]), tmpfs[1]) if tmpfs else None,
            "keep": (str(keep[0]), str(keep[1])) if keep else None,
        }
        self.process = context.Process(target=_child, args=([str(a) for a in argv], str(self.log)), kwargs=options)
        self.process.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def wait(self, timeout: float = 600) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
            raise TimeoutError(f"aigi-scd did not finish in {timeout} s:\n{self.output()}")
        return self.process.exitcode

    def kill(self, sig: int = signal.SIGKILL) -> None:
        os.kill(self.process.pid, sig)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def run(argv, log: Path, timeout: float = 600, **options) -> tuple[int, str]:
    """Run to the end: (exit code, output). `options`: file_size, read_only, tmpfs (see Run)."""
    started = Run(argv, log, **options)
    code = started.wait(timeout)
    return code, started.output()


def start(argv, log: Path, **options) -> Run:
    """Start a run and return at once (to interrupt or kill it)."""
    return Run(argv, log, **options)


def wait_for(path: Path, running: Run, timeout: float = 600) -> float:
    """Wait until `path` exists while `running` runs; returns the monotonic time it appeared."""
    import time

    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if not running.alive():
            raise AssertionError(f"the run ended before {path} appeared:\n{running.output()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear in {timeout} s")
        time.sleep(0.002)
    return time.monotonic()


def timed_run(argv, log: Path, marker: Path) -> float:
    """Run to the end (exit code 0 required); returns the seconds from `marker`'s appearance to the end: the
    part of the run that writes."""
    import time

    running = Run(argv, log)
    began = wait_for(marker, running)
    code = running.wait()
    if code != 0:
        raise AssertionError(f"exit code {code}:\n{running.output()}")
    return time.monotonic() - began
