"""Shared test helpers: gradient check with a Hypothesis-drawn cotangent, tight tolerances."""
import numpy as np

import tinygrad_np as tg
from tinygrad_np.testing import gradcheck
from tinygrad_np.testing import strategies as tst

# central differences with eps=1e-6 in float64 are accurate to about 1e-9 here
ATOL, RTOL = 1e-7, 1e-6


def check_gradients(data, fn, *inputs, atol=ATOL, rtol=RTOL):
    """gradcheck fn at inputs against a random cotangent drawn from `data` (st.data())."""
    probe = fn(*[tg.Tensor(getattr(x, "data", x), dtype=np.float64) for x in inputs])
    cotangent = data.draw(tst.cotangents(probe.shape), label="cotangent")
    assert gradcheck(fn, *inputs, atol=atol, rtol=rtol, cotangent=[cotangent])


def check_outputs(data, fn, *inputs, atol=ATOL, rtol=RTOL):
    """As check_gradients for a function returning one tensor or a tuple of them (one cotangent each)."""
    probe = fn(*[tg.Tensor(getattr(x, "data", x), dtype=np.float64) for x in inputs])
    outputs = probe if isinstance(probe, tuple) else (probe,)
    cotangents = [data.draw(tst.cotangents(o.shape), label=f"cotangent {i}") for i, o in enumerate(outputs)]
    assert gradcheck(fn, *inputs, atol=atol, rtol=rtol, cotangent=cotangents)


def t64(array, requires_grad=True):
    return tg.Tensor(np.asarray(array, dtype=np.float64), dtype=np.float64, requires_grad=requires_grad)


def call_unblocking_fifos(fn, fifos, wait=30.0):
    """fn() run in a thread. If it is still running after `wait` seconds (blocked opening or
    reading one of the FIFOs), the FIFOs are opened for writing and closed so that it ends, and
    the test fails: a hang guard, so that a regression fails instead of hanging the suite."""
    import os
    import threading

    import pytest

    result = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as e:  # handed to the caller below
            result["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(wait)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(wait)
        pytest.fail(f"blocked on a FIFO: {fifos}")
    if "error" in result:
        raise result["error"]
    return result.get("value")


def huge_png(path, width, height):
    """Write a valid 1-bit black PNG of width x height pixels (a few KB for millions of pixels)."""
    import struct
    import zlib

    def chunk(tag, payload):
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed bits
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale, no interlace
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path
