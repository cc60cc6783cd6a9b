"""Freed memory kept for reuse: what tinygrad_np asks of glibc's malloc at import."""
import os
import platform
import subprocess
import sys

import pytest

import tinygrad_np as tg
from tinygrad_np.ops import allocator

ON_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Four 8 MiB arrays alive at once, then freed: 32 MiB free at the top of the heap, more than
# glibc's default trim threshold after 8 MiB blocks (16 MiB), so by default it is handed back.
FAULTS_PER_BATCH_OF_ARRAYS = """
import resource, numpy as np
import tinygrad_np as tg
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(8 << 20, dtype=np.uint8) for _ in range(4)]
    del arrays
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(tg.allocator.status)
print(*[faults() for _ in range(5)])
"""


def run_fresh_process(**env: str):
    """(allocator status, page faults of each of 5 rounds) in a new interpreter."""
    ours = allocator._USER_MALLOC_VARIABLES + (allocator.ENV_SWITCH,)
    environ = {k: v for k, v in os.environ.items() if k not in ours}
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_BATCH_OF_ARRAYS], env={**environ, **env},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return out[0], [int(f) for f in out[1].split()]


@pytest.mark.skipif(not ON_GLIBC, reason="malloc tuning applies to glibc only")
def test_freed_arrays_are_reused_without_page_faults():
    status, faults = run_fresh_process()
    assert status == "kept"
    pages = 4 * (8 << 20) // 4096
    assert faults[0] > 0
    # after the first round, the same 32 MiB come back from the heap: almost no first touches
    assert max(faults[1:]) < pages // 20, faults


@pytest.mark.skipif(not ON_GLIBC, reason="malloc tuning applies to glibc only")
def test_environment_switch_and_users_own_malloc_settings_are_respected():
    status, _ = run_fresh_process(TINYGRAD_NP_KEEP_FREED_MEMORY="0")
    assert status == "left as it is (TINYGRAD_NP_KEEP_FREED_MEMORY=0)"
    for variable, value in (("MALLOC_TRIM_THRESHOLD_", "1048576"), ("MALLOC_ARENA_MAX", "4")):
        status, _ = run_fresh_process(**{variable: value})
        assert status == "left as it is (MALLOC_*_THRESHOLD_ or MALLOC_ARENA_MAX set in the environment)"


@pytest.mark.parametrize(("kwargs", "shown"), [
    ({"trim_threshold": 0}, "trim_threshold must be an int in (0, 2**31), got 0"),
    ({"mmap_threshold": 1.5}, "mmap_threshold must be an int in (0, 2**31), got 1.5"),
    ({"trim_threshold": 2 ** 31}, "got 2147483648"),
    ({"arenas": 0}, "arenas must be an int in (0, 2**31), got 0"),
])
def test_bad_thresholds_are_named(kwargs, shown):
    with pytest.raises(ValueError, match=r"keep_freed_memory: ") as info:
        tg.allocator.keep_freed_memory(**kwargs)
    assert shown in str(info.value)
