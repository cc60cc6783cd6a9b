"""The two ways conv2d lowers to matrix products, and the rule that picks one by shape.

Notation: x is padded to xp (N, C, Hp, Wp), weight w is (F, C, KH, KW), stride (sh, sw),
output (N, F, OH, OW).

im2col: copy every KH x KW window into a column matrix (N, C*KH*KW, OH*OW) and multiply by
w as an (F, C*KH*KW) matrix. The product has only F rows, so when F is small (6 or 12 maps)
the work is dominated by writing and reading the KH*KW-times-larger column matrix.

band (row lowering): for each output row r and each block of B output columns, copy the
C x KH x Wb input patch it reads (Wb = (B-1)*sw + KW) into one row of X (N*OH*nb, C*KH*Wb),
and build from w a banded matrix T (C*KH*Wb, F*B) whose column (f, s) holds w[f] shifted
by s*sw and zeros elsewhere. Then out = X @ T. X is only Wb/B times the input (not KH*KW
times), and the product is a large square-ish GEMM that runs near BLAS peak; the zeros in
T cost (B-1)*sw/KW extra multiply-adds, which BLAS does faster than the memory traffic
im2col saves.
"""
from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from . import parallel
from .accumulate import accumulator, sum_of

T = TypeVar("T")

as_strided = np.lib.stride_tricks.as_strided


# ------------------------------------------------------------------------ choice
_forced: list[tuple[str, int] | None] = [None]


@contextlib.contextmanager
def forced_algorithm(name: str, block: int = 0) -> Iterator[None]:
    """Make every conv2d inside use `name` ("band" with `block` columns, or "im2col").

    For tests and benchmarks; a block of 0 keeps the automatic block width.
    """
    if name not in ("band", "im2col"):
        raise ValueError(f"forced_algorithm: unknown algorithm {name!r}; use 'band' or 'im2col'")
    previous = _forced[0]
    _forced[0] = (name, block)
    try:
        yield
    finally:
        _forced[0] = previous


PASSES = ("forward", "input_grad", "weight_grad")

# Rough machine model (2 cores, float32, both busy): strided copies and scatters at ~12 GB/s,
# large GEMMs at ~100 GFLOP/s; im2col's GEMM, whose short side is the F filters, runs at F/24
# of that when F < 24 (memory bound), and band's, whose short side is F*B, at F*B/128.
# Fitted to the passes of the CNN's two layers and of the layers in benchmarks/bench_conv.py
# (docs/benchmarks.md).
BANDWIDTH, PEAK, THIN_GEMM_SIDE, THIN_BAND_SIDE = 12e9, 100e9, 24, 128


@functools.lru_cache(maxsize=1024)  # a network asks for the same few shapes at every step
def pass_costs(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
               out_hw: tuple[int, int], pass_name: str = "forward") -> dict[str, float]:
    """Estimated seconds of one pass ("forward", "input_grad" or "weight_grad") by each lowering
    (a shared dict: do not modify)."""
    if pass_name not in PASSES:
        raise ValueError(f"pass_costs: unknown pass {pass_name!r}; use one of {PASSES}")
    n, c, _, _ = x_shape
    f, _, kh, kw = w_shape
    oh, ow = out_hw
    block = band_block_width(ow, pass_name)
    nb = math.ceil(ow / block)
    wb = (block - 1) * stride[1] + kw
    flops = 2.0 * n * oh * ow * c * kh * kw * f  # the useful multiply-adds
    columns = 4.0 * n * oh * ow * c * kh * kw     # bytes of im2col's column matrix
    lowered = 4.0 * n * oh * nb * c * kh * wb     # bytes of band's lowered rows
    grad_rows = 4.0 * n * oh * nb * f * block     # bytes of the output gradient as band rows
    band_matrix_bytes = 4.0 * c * kh * wb * f * block
    # the band's zeros cost (B-1)*sw/KW extra multiply-adds
    band_gemm = flops * (wb / kw) / (PEAK * min(1.0, f * block / THIN_BAND_SIDE))
    thin_gemm = flops / (PEAK * min(1.0, f / THIN_GEMM_SIDE))
    if pass_name == "forward":
        band_bytes, column_bytes = lowered, columns
    elif pass_name == "weight_grad":
        band_bytes, column_bytes = lowered + grad_rows, columns
    else:  # the product is written, then scatter-added into the input gradient (read, read, write)
        band_bytes, column_bytes = grad_rows + 3 * lowered, 4 * columns
    return {"band": (band_bytes + 3 * band_matrix_bytes) / BANDWIDTH + band_gemm,
            "im2col": column_bytes / BANDWIDTH + thin_gemm}


def choose_algorithm(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
                     out_hw: tuple[int, int], pass_name: str = "forward") -> tuple[str, int]:
    """("band", B) or ("im2col", 0): the lowering of one pass of conv2d on the padded input x_shape.

    Each pass (forward, input gradient, weight gradient) is chosen on its own: they read the
    same saved input, and the cheaper lowering differs between them (e.g. the CNN's second
    layer: im2col forward and weight gradient, band input gradient).
    """
    if _forced[0] is not None:
        name, block = _forced[0]
        return name, (min(block, out_hw[1]) or band_block_width(out_hw[1], pass_name)) if name == "band" else 0
    costs = pass_costs(tuple(x_shape), tuple(w_shape), tuple(stride), tuple(out_hw), pass_name)
    return ("band", band_block_width(out_hw[1], pass_name)) if costs["band"] < costs["im2col"] else ("im2col", 0)


def seconds_per_image(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
                      out_hw: tuple[int, int], pass_name: str, algorithm: str) -> float:
    """The cost model's estimate for one image of a pass on one core (it models both cores)."""
    return 2 * pass_costs((1,) + tuple(x_shape[1:]), tuple(w_shape), tuple(stride), tuple(out_hw),
                          pass_name)[algorithm]


def band_block_width(ow: int, pass_name: str = "forward") -> int:
    """Output columns per GEMM row: the output row split evenly into blocks of at most 10
    columns (forward, weight gradient) or 32 (input gradient).

    Narrower blocks waste fewer multiply-adds on the band's zeros ((B-1)*sw + KW columns
    per KW useful ones) but make the GEMM thinner and the copies of rows and outputs longer.
    The input gradient also scatter-adds each row back in pieces no wider than a block, so it
    wants wide blocks. Measured on the CNN's layers at batch 64 on both cores
    (benchmarks/bench_lowerings.py with --block 8, the default, --block 20; docs/benchmarks.md):
    first layer forward 4.8, 4.1-4.3, 4.4 ms; weight gradient 5.4, 4.5, 4.9 ms; input gradient
    with blocks of 8 and 20: 26.8 and 11.2-12.7 ms.
    """
    widest = 32 if pass_name == "input_grad" else 10
    blocks = math.ceil(ow / widest)
    return math.ceil(ow / blocks)


# ------------------------------------------------------------------- workspaces
# Lowered rows are built for a few images at a time (a chunk), into one buffer per thread that
# is reused from call to call: the copy stays in cache while the GEMM reads it, and a fresh
# multi-megabyte array would cost a page fault per 4 KiB on first touch.
CHUNK_BYTES = 1 << 20
#: An op worth splitting has an even number of chunks, so that two threads get equal shares;
#: a multiple of 4 when it has at least 8 chunks anyway and is worth 4 threads (more chunks cost
#: time: a GEMM call and the Python around it each, ~5% of conv2's backward at batch 16 with 4
#: chunks instead of 2).
CHUNK_GROUP = 4
_buffers = threading.local()  # .table: {(name, dtype): buffer}


def _scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """This thread's reusable buffer `name`, viewed as `shape`; valid until the next request."""
    size = math.prod(shape)
    key = (name, np.dtype(dtype))
    table: dict[tuple[str, np.dtype], np.ndarray] = _buffers.__dict__.setdefault("table", {})
    buf = table.get(key)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1), dtype=dtype)
        table[key] = buf
    return buf[:size].reshape(shape)


def batch_chunks(n: int, row_bytes_per_image: int, seconds_per_image: float) -> list[slice]:
    """The chunks of images an op's batch is lowered in: about CHUNK_BYTES of lowered rows each
    (peak memory of a batch-256 step of the CNN, benchmarks/bench_zhang.py on one thread: 108 MiB
    unchunked, 71 MiB with 2 MiB chunks; 4 MiB chunks were 1-3% faster but took 82 MiB, above
    PyTorch's 74-80 MiB), their number rounded up to a multiple of 2 or CHUNK_GROUP when the work
    is worth that many threads (see CHUNK_GROUP), their bounds spread evenly over the batch.

    The chunks depend on the op's shape only, never on the thread count: the threads share out
    whole chunks, so every matrix product, and so every output, is the same whether the batch is
    split over one thread or several. (OpenBLAS's result for one row of a product depends on how
    many rows the product has; docs/conventions.md.)
    """
    step = max(1, CHUNK_BYTES // max(row_bytes_per_image, 1))
    count = -(-n // step)
    worth = parallel.threads_worth(n, seconds_per_image)
    group = CHUNK_GROUP if worth >= CHUNK_GROUP and count >= 2 * CHUNK_GROUP else min(worth, 2)
    count = min(n, -(-count // group) * group)
    return [slice(k * n // count, (k + 1) * n // count) for k in range(count)]


def _map_chunks(n: int, bytes_per_image: int, seconds_each: float, chunk: Callable[[slice], T]) -> list[T]:
    """[chunk(part) for every chunk of the batch], in batch order (`batch_chunks`): the chunks
    are shared out over the threads when the work (`seconds_each` per image) is worth it
    (parallel.py), and each thread builds a chunk's lowered rows in its own reused buffers.
    BLAS runs on one thread throughout, split or not, so the products do not depend on the
    thread count either. `chunk` writes only its own images."""
    chunks = batch_chunks(n, bytes_per_image, seconds_each)

    def run(group: slice) -> list[T]:
        return [chunk(part) for part in chunks[group]]

    with parallel.single_threaded_blas():
        groups = parallel.map_slices(len(chunks), seconds_each * n / max(len(chunks), 1), run, uses_blas=True)
    return [result for results in groups for result in results]


# ------------------------------------------------------------------------ im2col
def im2col(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, oh: int, ow: int, dh: int = 1,
           dw: int = 1) -> np.ndarray:
    """Columns (N, C*KH*KW, OH*OW): column p of sample n is the window under output pixel p (kernel
    taps dh rows and dw columns apart when dilated).

    Written into this thread's reusable buffer: valid until the next call.
    """
    n, c = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    view = as_strided(xp, (n, c, kh, kw, oh, ow), (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw), writeable=False)
    cols = _scratch("cols", view.shape, xp.dtype)
    np.copyto(cols, view)
    return cols.reshape(n, c * kh * kw, oh * ow)


def im2col_forward(xp: np.ndarray, w: np.ndarray, sh: int, sw: int, oh: int, ow: int, dh: int = 1,
                   dw: int = 1) -> np.ndarray:
    n, c = xp.shape[:2]
    f, _, kh, kw = w.shape
    w2 = w.reshape(f, -1)
    out = np.empty((n, f, oh * ow), dtype=np.result_type(xp, w))

    def chunk(part: slice) -> None:
        # (F, C*KH*KW) x (m, C*KH*KW, OH*OW) -> (m, F, OH*OW)
        np.matmul(w2, im2col(xp[part], kh, kw, sh, sw, oh, ow, dh, dw), out=out[part])

    _map_chunks(n, c * kh * kw * oh * ow * xp.itemsize,
                seconds_per_image(xp.shape, w.shape, (sh, sw), (oh, ow), "forward", "im2col"), chunk)
    return out.reshape(n, f, oh, ow)


def im2col_weight_grad(xp: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], sh: int, sw: int,
                       dh: int = 1, dw: int = 1) -> np.ndarray:
    f, c, kh, kw = w_shape
    n, _, oh, ow = grad.shape
    g3 = grad.reshape(n, f, -1)

    def chunk(part: slice) -> np.ndarray:
        cols = im2col(xp[part], kh, kw, sh, sw, oh, ow, dh, dw)
        # (m, F, OH*OW) x (m, OH*OW, C*KH*KW) -> (m, F, C*KH*KW), summed over the chunk
        return np.matmul(g3[part], cols.transpose(0, 2, 1)).sum(axis=0)

    partials = _map_chunks(n, c * kh * kw * oh * ow * xp.itemsize,
                           seconds_per_image(xp.shape, w_shape, (sh, sw), (oh, ow), "weight_grad", "im2col"), chunk)
    return sum_of(partials, out=partials[0]).reshape(w_shape)


def im2col_input_grad(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], sh: int, sw: int,
                      dh: int = 1, dw: int = 1) -> np.ndarray:
    f, c, kh, kw = w.shape
    n, _, oh, ow = grad.shape
    wt = w.reshape(f, -1).T
    g3 = grad.reshape(n, f, -1)
    gxp = accumulator(padded_shape, np.result_type(grad, w))

    def chunk(part: slice) -> None:
        m = part.stop - part.start
        # (C*KH*KW, F) x (m, F, OH*OW) -> (m, C*KH*KW, OH*OW)
        gcols = np.matmul(wt, g3[part], out=_scratch("cols", (m, c * kh * kw, oh * ow), gxp.dtype))
        gcols = gcols.reshape(m, c, kh, kw, oh, ow)
        g = gxp[part]
        for i in range(kh):  # scatter over kernel offsets, not output pixels
            for j in range(kw):
                r, q = i * dh, j * dw
                g[:, :, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw] += gcols[:, :, i, j]

    _map_chunks(n, c * kh * kw * oh * ow * gxp.itemsize,
                seconds_per_image(padded_shape, w.shape, (sh, sw), (oh, ow), "input_grad", "im2col"), chunk)
    return gxp


# -------------------------------------------------------------------------- band
def _band_geometry(wp: int, kw: int, sw: int, ow: int, block: int) -> tuple[int, int, int]:
    nb = math.ceil(ow / block)
    wb = (block - 1) * sw + kw
    width_needed = (nb * block - 1) * sw + kw  # the last block may run past the input
    return nb, wb, max(wp, width_needed)


def lower_rows(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, oh: int, ow: int, block: int) -> np.ndarray:
    """X (N*OH*nb, C*KH*Wb): row (n, r, b) is the C x KH x Wb patch under output row r, block b."""
    n, c, hp, wp = xp.shape
    nb, wb, width = _band_geometry(wp, kw, sw, ow, block)
    if width > wp:
        xp = np.pad(xp, ((0, 0), (0, 0), (0, 0), (0, width - wp)))
    s0, s1, s2, s3 = xp.strides
    view = as_strided(xp, (n, oh, nb, c, kh, wb), (s0, s2 * sh, s3 * block * sw, s1, s2, s3), writeable=False)
    rows = _scratch("x_rows", view.shape, xp.dtype)
    np.copyto(rows, view)
    return rows.reshape(n * oh * nb, c * kh * wb)


def band_matrix(w: np.ndarray, block: int, sw: int) -> np.ndarray:
    """T (C*KH*Wb, F*B): T[(c, i, s*sw + j), (f, s)] = w[f, c, i, j], zero elsewhere."""
    f, c, kh, kw = w.shape
    wb = (block - 1) * sw + kw
    t = np.zeros((c, kh, wb, f, block), dtype=w.dtype)
    wt = w.transpose(1, 2, 3, 0)  # (C, KH, KW, F)
    for s in range(block):
        t[:, :, s * sw:s * sw + kw, :, s] = wt
    return t.reshape(c * kh * wb, f * block)


def _grad_rows(grad: np.ndarray, block: int) -> np.ndarray:
    """grad (N, F, OH, OW) as G (N*OH*nb, F*B), zero-padded to nb*B columns."""
    n, f, oh, ow = grad.shape
    nb = math.ceil(ow / block)
    if nb * block != ow:
        grad = np.pad(grad, ((0, 0), (0, 0), (0, 0), (0, nb * block - ow)))
    rows = _scratch("g_rows", (n, oh, nb, f, block), grad.dtype)
    np.copyto(rows, grad.reshape(n, f, oh, nb, block).transpose(0, 2, 3, 1, 4))
    return rows.reshape(n * oh * nb, f * block)


def band_forward(xp: np.ndarray, w: np.ndarray, sh: int, sw: int, oh: int, ow: int, block: int) -> np.ndarray:
    n, c = xp.shape[:2]
    f, _, kh, kw = w.shape
    nb, wb, _ = _band_geometry(xp.shape[3], kw, sw, ow, block)
    t = band_matrix(w, block, sw)
    out = np.empty((n, f, oh, ow), dtype=np.result_type(xp, w))

    def chunk(part: slice) -> None:
        m = part.stop - part.start
        # (m*OH*nb, C*KH*Wb) x (C*KH*Wb, F*B) -> (m*OH*nb, F*B)
        x_rows = lower_rows(xp[part], kh, kw, sh, sw, oh, ow, block)
        product = np.matmul(x_rows, t, out=_scratch("product", (x_rows.shape[0], f * block), out.dtype))
        tiles = product.reshape(m, oh, nb, f, block).transpose(0, 3, 1, 2, 4).reshape(m, f, oh, nb * block)
        out[part] = tiles[..., :ow]

    _map_chunks(n, oh * nb * c * kh * wb * xp.itemsize,
                seconds_per_image(xp.shape, w.shape, (sh, sw), (oh, ow), "forward", "band"), chunk)
    return out


def band_weight_grad(xp: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], sh: int, sw: int,
                     block: int) -> np.ndarray:
    f, c, kh, kw = w_shape
    n = xp.shape[0]
    oh, ow = grad.shape[2:]
    nb, wb, _ = _band_geometry(xp.shape[3], kw, sw, ow, block)

    def chunk(part: slice) -> np.ndarray:
        # (C*KH*Wb, rows) x (rows, F*B) -> (C*KH*Wb, F*B), summed over the chunks
        return lower_rows(xp[part], kh, kw, sh, sw, oh, ow, block).T @ _grad_rows(grad[part], block)

    partials = _map_chunks(n, oh * nb * c * kh * wb * xp.itemsize,
                           seconds_per_image(xp.shape, w_shape, (sh, sw), (oh, ow), "weight_grad", "band"), chunk)
    gt = sum_of(partials, out=partials[0]).reshape(c, kh, wb, f, block)
    gw = np.zeros((c, kh, kw, f), dtype=gt.dtype)
    for s in range(block):  # adjoint of band_matrix: gather each shifted copy of w back
        gw += gt[:, :, s * sw:s * sw + kw, :, s]
    return np.ascontiguousarray(gw.transpose(3, 0, 1, 2))


def band_input_grad(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], sh: int, sw: int,
                    block: int) -> np.ndarray:
    f, c, kh, kw = w.shape
    n, _, oh, ow = grad.shape
    hp, wp = padded_shape[2:]
    nb, wb, _ = _band_geometry(wp, kw, sw, ow, block)
    t_transposed = band_matrix(w, block, sw).T
    pitch = block * sw  # input columns between the starts of two blocks
    # Each patch is added in pieces no wider than the pitch, so that the nb blocks of one piece
    # land on disjoint columns; with a single block per row nothing overlaps: one piece.
    piece = pitch if nb > 1 else wb
    segments = math.ceil(wb / piece)
    gxp = accumulator((n, c, hp, max(wp, (nb - 1) * pitch + segments * piece)), np.result_type(grad, w))

    def chunk(part: slice) -> None:
        m = part.stop - part.start
        # (rows, F*B) x (F*B, C*KH*Wb) -> (rows, C*KH*Wb): the gradient of every lowered row
        g_rows = _grad_rows(grad[part], block)
        gx_rows = np.matmul(g_rows, t_transposed, out=_scratch("product", (g_rows.shape[0], c * kh * wb), gxp.dtype))
        gx_rows = gx_rows.reshape(m, oh, nb, c, kh, wb)
        g = gxp[part]
        s0, s1, s2, s3 = g.strides
        for i in range(kh):  # adjoint of lower_rows: scatter over KH row offsets and the segments
            for k in range(segments):
                start, width = k * piece, min(piece, wb - k * piece)
                target = as_strided(g[:, :, i:, start:], (m, c, oh, nb, width), (s0, s1, s2 * sh, s3 * pitch, s3))
                target += gx_rows[:, :, :, :, i, start:start + width].transpose(0, 3, 1, 2, 4)

    _map_chunks(n, oh * nb * c * kh * wb * gxp.itemsize,
                seconds_per_image(padded_shape, w.shape, (sh, sw), (oh, ow), "input_grad", "band"), chunk)
    return gxp[:, :, :, :wp]

