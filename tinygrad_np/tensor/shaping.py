"""Movement and indexing methods of `Tensor` (see base.py for the class chain).

Only reshape, permute, indexing and padding are primitives (ops/movement.py); view, flatten,
squeeze, unsqueeze, expand, repeat, split, chunk, gather, tril and triu are composites of those,
of broadcasting by multiplication, and of `where`."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ops import movement
from ..ops import shape_checks as checks
from .base import TensorBase, _new
from .math import MathTensor, where

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor


def _ints(args: tuple[Any, ...], op: str, what: str = "shape") -> tuple[int, ...]:
    """Sizes given as ints (`x.view(2, 3)`) or as one tuple or list (`x.view((2, 3))`)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in args):
        raise TypeError(f"{op}: the target {what} must be ints, got {args!r}")
    return tuple(int(n) for n in args)


class ShapeTensor(MathTensor):
    """Reshaping, permuting, expanding, splitting, indexing and padding."""

    # -------------------------------------------------------------- reshape
    def reshape(self, *shape: Any) -> Tensor:
        """The same data in a new shape (one dimension may be -1), row-major like NumPy."""
        return movement.Reshape.apply(self, shape=checks.resolve_shape(self.shape, _ints(shape, "reshape")))

    def view(self, *shape: Any) -> Tensor:
        """As `reshape` (NumPy arrays have no contiguity requirement, so a view never fails on one)."""
        return movement.Reshape.apply(self, shape=checks.resolve_shape(self.shape, _ints(shape, "view"), "view"))

    def view_as(self, other: TensorBase) -> Tensor:
        """`self.view(other.shape)`."""
        return self.view(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge the dims start_dim..end_dim (row-major); by default all, as PyTorch (a 0-d tensor
        becomes 1-D). `flatten(1)` turns (N, C, H, W) into (N, C*H*W)."""
        if self.ndim == 0:
            return self.reshape(1)
        start = checks.single_axis(start_dim, self.ndim, "flatten", "start_dim")
        end = checks.single_axis(end_dim, self.ndim, "flatten", "end_dim")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})")
        merged = math.prod(self.shape[start:end + 1])
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a dim of size 1 at `dim` (from -ndim-1 to ndim)."""
        if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) and not -self.ndim - 1 <= dim <= self.ndim:
            raise checks.IndexOutOfRange(f"unsqueeze: dim {dim} is out of range [{-self.ndim - 1}, {self.ndim}] "
                                         f"for a tensor of shape {self.shape}")
        d = checks.single_axis(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        """Drop dims of size 1: all of them, or those among `dim` (others are kept, as PyTorch)."""
        axes = checks.normalize_axis(dim, self.ndim, "squeeze", "dim") if self.ndim else ()
        drop = set(axes) if dim is not None else set(range(self.ndim))
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in drop and n == 1)))

    # ------------------------------------------------------------ broadcast
    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to `sizes` (-1 keeps a dim; new dims go in front), like PyTorch.

        A composite: the product with a broadcast view of ones, so the result is a new array
        (not a view) and the gradient is summed back by the engine."""
        sizes = _ints(sizes, "expand", "sizes")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: got {len(sizes)} sizes {sizes} for a tensor of shape {self.shape}; "
                             f"need at least {self.ndim}")
        target = []
        for i, n in enumerate(sizes):
            old = self.shape[i - lead] if i >= lead else None
            if n == -1 and old is not None:
                n = old
            elif n < 0 or (old is not None and old != 1 and n != old):
                raise ValueError(f"expand: cannot expand shape {self.shape} to {sizes} (size {n} at dim {i})")
            target.append(n)
        return self * _new(np.broadcast_to(np.ones((), dtype=self.dtype), tuple(target)))

    def expand_as(self, other: TensorBase) -> Tensor:
        """`self.expand(other.shape)`."""
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile the tensor `sizes[i]` times along dim i (extra sizes add leading dims), like PyTorch."""
        reps = _ints(sizes, "repeat", "sizes")
        if len(reps) < self.ndim or any(r < 0 for r in reps):
            raise ValueError(f"repeat: need at least {self.ndim} non-negative repeats for shape {self.shape}, "
                             f"got {reps}")
        shape = (1,) * (len(reps) - self.ndim) + self.shape
        # (s0, s1) -> (1, s0, 1, s1) -> (r0, s0, r1, s1) -> (r0*s0, r1*s1)
        spread = self.reshape(tuple(v for n in shape for v in (1, n)))
        tiled = spread.expand(tuple(v for r, n in zip(reps, shape, strict=True) for v in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(reps, shape, strict=True)))

    # -------------------------------------------------------------- permute
    def permute(self, *axes: Any) -> Tensor:
        """Reorder the axes: `x.permute(0, 2, 3, 1)` turns NCHW into NHWC."""
        return movement.Permute.apply(self, axes=checks.check_permutation(_ints(axes, "permute", "axes"), self.ndim))

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """Swap dim0 and dim1 (PyTorch), or reverse all axes when neither is given (NumPy)."""
        axes = list(range(self.ndim))
        if dim0 is None and dim1 is None:
            axes.reverse()
        elif dim0 is None or dim1 is None:
            raise TypeError(f"transpose: give both dim0 and dim1, or neither; got dim0={dim0!r}, dim1={dim1!r}")
        else:
            d0, d1 = (checks.normalize_axis(d, self.ndim, "transpose", "dim")[0] for d in (dim0, dim1))
            axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(tuple(axes))

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """Swap two axes (alias of `transpose(axis0, axis1)`)."""
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dims (alias of `transpose(dim0, dim1)`)."""
        return self.transpose(dim0, dim1)

    @property
    def T(self) -> Tensor:
        """All axes reversed (the transpose of a matrix)."""
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of transposed matrices)."""
        if self.ndim < 2:
            raise ValueError(f"mT: needs a tensor with at least 2 dims, got shape {self.shape}")
        return self.transpose(-2, -1)

    # ------------------------------------------------------------- indexing
    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, tuple):
            index = tuple(i._data if isinstance(i, TensorBase) else i for i in index)
        elif isinstance(index, TensorBase):
            index = index._data
        return movement.Index.apply(self, index=checks.normalize_index(index, self.shape))

    def _take_along(self, dim: int, index: np.ndarray) -> Tensor:
        """out[..., i, ...] = self[..., index[..., i, ...], ...] along `dim` (checked indices)."""
        if self.ndim == 0:
            return movement.Index.apply(self, index=())
        grid = tuple(index if i == dim else np.arange(n).reshape([-1 if j == i else 1 for j in range(self.ndim)])
                     for i, n in enumerate(index.shape))
        return movement.Index.apply(self, index=grid)

    def gather(self, dim: int, index: Any) -> Tensor:
        """Values along `dim` at `index`, like torch.gather: for dim 0, `out[i, j] = self[index[i, j], j]`.

        `index` is an integer tensor with self's number of dims, no larger than self outside `dim`;
        repeated indices add up their gradients."""
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
        if idx.ndim != self.ndim:
            raise ValueError(f"gather: index has {idx.ndim} dims but the tensor has {self.ndim} "
                             f"(index {idx.shape}, tensor {self.shape})")
        d = checks.single_axis(dim, self.ndim, "gather")
        n = self.shape[d] if self.ndim else 1
        if any(k > m for i, (k, m) in enumerate(zip(idx.shape, self.shape, strict=True)) if i != d):
            raise ValueError(f"gather: index shape {idx.shape} is larger than the tensor's {self.shape} "
                             f"outside dim {d}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise checks.IndexOutOfRange(f"gather: index values must be in [0, {n - 1}] along dim {d}, got "
                                         f"values from {idx.min()} to {idx.max()} (tensor {self.shape})")
        return self._take_along(d, idx)

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The entries `index` (1-D integers) along `dim`."""
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        if idx.ndim > 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"index_select: index must be a 1-D integer tensor, got shape {idx.shape} "
                            f"dtype {idx.dtype}")
        d = checks.single_axis(dim, self.ndim, "index_select")
        return self[(slice(None),) * d + (idx.reshape(-1),)]

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """Split into `chunks` pieces of ceil(size / chunks) along dim (the last may be smaller, and
        there may be fewer pieces, as PyTorch)."""
        if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks < 1:
            raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
        d = checks.single_axis(dim, self.ndim, "chunk")
        return self.split(max(1, -(-self.shape[d] // int(chunks))), d)

    def split(self, split_size_or_sections: int | list[int] | tuple[int, ...], dim: int = 0) -> tuple[Tensor, ...]:
        """Split along dim into pieces of one size (the last may be smaller), or of the sizes given."""
        d = checks.single_axis(dim, self.ndim, "split")
        n = self.shape[d]
        sizes: list[int]
        arg = split_size_or_sections
        if isinstance(arg, (int, np.integer)) and not isinstance(arg, bool):
            if arg < 1:
                raise ValueError(f"split: split_size must be a positive int, got {arg}")
            sizes = [int(arg)] * (n // arg) + ([n % arg] if n % arg else []) or [0]
        else:
            sizes = list(_ints((arg,), "split", "sizes"))
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise ValueError(f"split: sizes {sizes} must be non-negative and sum to {n}, the size of dim {d} "
                                 f"(shape {self.shape})")
        bounds = np.cumsum([0] + sizes)
        lead = (slice(None),) * d
        return tuple(self[lead + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:], strict=True))

    def tril(self, diagonal: int = 0) -> Tensor:
        """Zero the elements above the `diagonal`-th diagonal of the last two dims."""
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal: int = 0) -> Tensor:
        """Zero the elements below the `diagonal`-th diagonal of the last two dims."""
        return self._triangle(diagonal, lower=False)

    def _triangle(self, diagonal: int, lower: bool) -> Tensor:
        op = "tril" if lower else "triu"
        if self.ndim < 2:
            raise ValueError(f"{op}: needs a tensor with at least 2 dims, got shape {self.shape}")
        if not isinstance(diagonal, (int, np.integer)) or isinstance(diagonal, bool):
            raise TypeError(f"{op}: diagonal must be an int, got {diagonal!r}")
        rows, cols = self.shape[-2:]
        below = np.tri(rows, cols, int(diagonal) if lower else int(diagonal) - 1, dtype=bool)
        return where(below if lower else ~below, self, 0)

    def pad(self, pad_width: Any, value: float = 0.0) -> Tensor:
        """Constant padding, `pad_width` as for np.pad (int, pair, or one pair per axis)."""
        return movement.Pad.apply(self, pad_width=checks.normalize_pad(pad_width, self.ndim), value=value)
