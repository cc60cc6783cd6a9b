"""Keep freed memory in the process for the next batch, instead of handing it back to the OS.

Every op returns a fresh array, and a training step frees them all again. glibc's malloc gives
the top of its heap back to the operating system once more than its trim threshold is free
(by default about twice the largest block freed so far), so the next step asks for the same
memory again and pays a page fault for every 4 KiB it touches first: about 3,000 faults in a
batch-256 forward pass of the specified CNN, a fifth to a third of its time on a 2-core
virtual machine (docs/benchmarks.md).

`keep_freed_memory()` raises the trim threshold (and fixes the size above which blocks get
their own mapping, which glibc otherwise adjusts together with it), so freed blocks stay in
the heap and are reused without faults. It also has every thread allocate from one heap (one
malloc "arena"): glibc otherwise gives threads arenas of their own, up to 8 per core, each
keeping its freed memory apart (8 threads that each allocated and freed 200 MiB in 1 MiB
arrays kept 882 MiB resident with the thresholds alone, 137 MiB with one arena; glibc 2.36).
It runs when tinygrad_np is imported, on glibc only, unless the environment says otherwise:

- TINYGRAD_NP_KEEP_FREED_MEMORY=0 leaves malloc as it is;
- MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_ or MALLOC_ARENA_MAX set by the user are
  respected (glibc has already applied them, and none of the settings is changed).

The cost is resident memory: up to `trim_threshold` bytes of freed memory may stay mapped.
The arena limit holds for threads that allocate for the first time after the import; glibc
fixes its limit when a second arena is first needed, so if threads had allocated (in
separate arenas) before tinygrad_np was imported, the limit is too late: import tinygrad_np
first, or set MALLOC_ARENA_MAX=1 in the environment.
"""
from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Callable

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

DEFAULT_TRIM_THRESHOLD = 256 << 20
DEFAULT_MMAP_THRESHOLD = 32 << 20  # the largest value glibc's own adjustment reaches on 64-bit

ENV_SWITCH = "TINYGRAD_NP_KEEP_FREED_MEMORY"
_USER_MALLOC_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX")

#: What happened at import: "kept" (thresholds set), or why not.
status: str = "not applied"


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt


def keep_freed_memory(trim_threshold: int = DEFAULT_TRIM_THRESHOLD,
                      mmap_threshold: int = DEFAULT_MMAP_THRESHOLD, arenas: int = 1) -> bool:
    """Let glibc's malloc keep up to `trim_threshold` bytes of freed heap for reuse, serve
    blocks smaller than `mmap_threshold` from that heap, and give threads at most `arenas` heaps
    (each keeps up to `trim_threshold`). Returns False where malloc is not glibc's.
    """
    for name, value in (("trim_threshold", trim_threshold), ("mmap_threshold", mmap_threshold),
                        ("arenas", arenas)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2 ** 31:
            raise ValueError(f"keep_freed_memory: {name} must be an int in (0, 2**31), got {value!r}")
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return (bool(mallopt(_M_ARENA_MAX, arenas)) and bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold))
            and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold)))


def apply_at_import() -> str:
    """Apply `keep_freed_memory()` unless the environment turns it off; returns the new `status`."""
    global status
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        status = f"left as it is ({ENV_SWITCH}={os.environ[ENV_SWITCH]})"
    elif any(name in os.environ for name in _USER_MALLOC_VARIABLES):
        status = "left as it is (MALLOC_*_THRESHOLD_ or MALLOC_ARENA_MAX set in the environment)"
    elif keep_freed_memory():
        status = "kept"
    else:
        status = "left as it is (malloc is not glibc's)"
    return status
