"""Plain-loop reference implementations, written independently of tinygrad_np."""
import numpy as np


def conv2d_loops(x, w, b=None, stride=(1, 1), padding=(0, 0)):
    """Cross-correlation by explicit loops over output pixels."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    sh, sw = stride
    ph, pw = padding
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, f, oh, ow), dtype=np.result_type(x, w))
    for i in range(n):
        for o in range(f):
            for r in range(oh):
                for s in range(ow):
                    patch = xp[i, :, r * sh:r * sh + kh, s * sw:s * sw + kw]
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
