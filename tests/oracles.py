"""Plain-loop reference implementations, written independently of tinygrad_np."""
import numpy as np


def conv2d_loops(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Cross-correlation by explicit loops over output pixels (dilated taps, channel groups)."""
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, f, oh, ow), dtype=np.result_type(x, w))
    fg = f // groups
    for i in range(n):
        for o in range(f):
            first = (o // fg) * cg  # the first input channel of this filter's group
            for r in range(oh):
                for s in range(ow):
                    patch = xp[i, first:first + cg, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                               s * sw:s * sw + dw * (kw - 1) + 1:dw]
                    out[i, o, r, s] = np.sum(patch * w[o]) + (b[o] if b is not None else 0.0)
    return out


def pool2d_loops(x, kernel, stride, reduce):
    """Pooling by loops; `reduce` is np.mean or np.max; floor output size."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, c, oh, ow), dtype=x.dtype)
    for r in range(oh):
        for s in range(ow):
            out[:, :, r, s] = reduce(x[:, :, r * sh:r * sh + kh, s * sw:s * sw + kw], axis=(2, 3))
    return out
