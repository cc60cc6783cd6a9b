"""`Tensor`: an ndarray with a place on the tape, and the methods users call."""
from __future__ import annotations

import os
import threading
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import autograd
from . import ops
from .inplace import VersionCounter

Axis = Optional[Union[int, Tuple[int, ...]]]
IntOrPair = Union[int, Tuple[int, int]]

#: Gradients are accumulated under a lock, so that backward passes run by several threads at once
#: into shared leaves lose no update (as in PyTorch); a tensor takes one of these striped locks by id.
_GRAD_LOCKS: Tuple[threading.Lock, ...] = ()


def _new_grad_locks() -> None:
    """Fresh gradient locks: at import, and in a forked child (where a lock held by another thread
    of the parent would stay held)."""
    global _GRAD_LOCKS
    _GRAD_LOCKS = tuple(threading.Lock() for _ in range(64))


_new_grad_locks()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_grad_locks)


def _to_array(data: Any, dtype: Any, op: str = "Tensor") -> np.ndarray:
    """Validate user data; floats become float32 unless a dtype is given."""
    if isinstance(data, Tensor):
        data = data._data
    try:
        arr = np.array(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{op}: cannot make a numeric array from {type(data).__name__}: {exc}") from None
    if arr.dtype.kind not in "biufc":
        raise TypeError(
            f"{op}: data of dtype {arr.dtype} is not supported; give numbers (a float or integer array)"
        )
    if dtype is None and arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Float input becomes float32 unless `dtype` is given (`dtype=np.float64` for double
    precision); integer and bool data keep their dtype and cannot require grad. The data
    is copied.

    `.data` is the underlying ndarray. Assigning it (`w.data = new`, `w.data -= lr * g`) counts
    as an in-place modification (`_version` goes up); backward raises if an array that an op
    saved was modified between that op and the backward (see docs/debugging.md).
    """

    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operators
    _guard: Optional[VersionCounter] = None  # created when first needed; shared by tensors sharing memory

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: Optional[str] = None, _copy: bool = True):
        if _copy:
            data = _to_array(data, dtype)
        self._data: np.ndarray = data
        if requires_grad and data.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: only floating point tensors can require grad, got dtype {data.dtype}"
            )
        self.requires_grad: bool = bool(requires_grad)
        self.grad: Optional[np.ndarray] = None
        self.name = name
        self._ctx: Optional[autograd.Context] = None
        self._retains_grad = False

    # ------------------------------------------------------------------ basics
    @property
    def data(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied).

        Writing into it (`x.data[0] = 0`) while an unreleased graph has saved it is detected
        at that graph's backward.
        """
        guard = self._guard
        if guard is not None and guard.live:
            guard.watch(self._data)
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            value = value._data
        elif not isinstance(value, np.ndarray):
            value = _to_array(value, self._data.dtype, "Tensor.data")
        if value.dtype.kind not in "biufc":
            raise TypeError(f"Tensor.data: arrays of dtype {value.dtype} are not supported; give numbers")
        if self.requires_grad and value.dtype.kind not in "fc":
            raise TypeError(f"Tensor.data: tensor {self._describe()} requires grad, so its data must be "
                            f"floating point, got dtype {value.dtype}")
        self._data = value
        self._counter().bump()

    def _counter(self) -> VersionCounter:
        """This tensor's version counter (created on first use)."""
        guard = self._guard
        if guard is None:
            guard = self._guard = VersionCounter(self.name)
        return guard

    @property
    def _version(self) -> int:
        """How many times the data was modified in place (assigned, or written while watched)."""
        guard = self._counter()
        guard.sync()
        return guard.version

    @property
    def shape(self) -> Tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Optional[str]:
        """Name of the op that produced this tensor (None for leaves)."""
        return None if self._ctx is None else self._ctx.op_name

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied), like `.data`."""
        return self.data

    def item(self) -> Union[float, int, bool]:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: tensor has {self._data.size} elements (shape {self.shape}); need exactly 1")
        return self._data.item()

    def detach(self) -> "Tensor":
        """A new leaf sharing the data (and its version counter), cut from the graph."""
        out = Tensor(self._data, _copy=False, name=self.name)
        out._guard = self._counter()
        return out

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def retain_grad(self) -> "Tensor":
        """Keep this non-leaf tensor's gradient in `.grad` during backward."""
        self._retains_grad = True
        return self

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self._data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad_: only floating point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = flag
        return self

    def astype(self, dtype: Any) -> "Tensor":
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"astype: {exc}") from None
        if dtype.kind not in "biufc":
            raise TypeError(f"astype: dtype {dtype} is not supported; give a numeric dtype")
        return ops.Cast.apply(self, dtype=dtype)

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad."""
        autograd.backward(self, grad, retain_graph)

    def _accumulate(self, g: np.ndarray) -> None:
        with _GRAD_LOCKS[id(self) >> 4 & 63]:  # safe from several threads at once
            if self.grad is None:
                self.grad = np.array(g, dtype=self.dtype, copy=True)
            else:
                self.grad += g

    def _describe(self) -> str:
        label = f"'{self.name}' " if self.name else ""
        return f"{label}{self.shape} {self.dtype}"

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, separator=", ", threshold=20, edgeitems=2)
        extra = [f"dtype={self.dtype}"]
        if self.name:
            extra.append(f"name={self.name!r}")
        if self._ctx is not None:
            extra.append(f"grad_fn={self.grad_fn}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return f"Tensor({body}, {', '.join(extra)})"

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self._data)

    # ------------------------------------------------------------ arithmetic
    def _lift(self, other: Any, op: str = "operator") -> "Tensor":
        """Turn a Python number or array into a tensor of this tensor's float dtype."""
        if isinstance(other, Tensor):
            return other
        try:
            arr = np.asarray(other)
        except ValueError as exc:
            raise TypeError(f"{op}: cannot use {type(other).__name__} as an operand: {exc}") from None
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{op}: unsupported operand {other!r} of dtype {arr.dtype}; give numbers or a tensor")
        if self.dtype.kind == "f" and arr.dtype.kind in "biuf":
            arr = arr.astype(self.dtype)
        return Tensor(arr, _copy=False)

    def __add__(self, o: Any) -> "Tensor": return ops.Add.apply(self, self._lift(o, "add"))
    def __radd__(self, o: Any) -> "Tensor": return ops.Add.apply(self._lift(o, "add"), self)
    def __sub__(self, o: Any) -> "Tensor": return ops.Sub.apply(self, self._lift(o, "sub"))
    def __rsub__(self, o: Any) -> "Tensor": return ops.Sub.apply(self._lift(o, "sub"), self)
    def __mul__(self, o: Any) -> "Tensor": return ops.Mul.apply(self, self._lift(o, "mul"))
    def __rmul__(self, o: Any) -> "Tensor": return ops.Mul.apply(self._lift(o, "mul"), self)
    def __truediv__(self, o: Any) -> "Tensor": return ops.Div.apply(self, self._lift(o, "div"))
    def __rtruediv__(self, o: Any) -> "Tensor": return ops.Div.apply(self._lift(o, "div"), self)
    def __matmul__(self, o: Any) -> "Tensor": return self.matmul(o)
    def __rmatmul__(self, o: Any) -> "Tensor": return self._lift(o, "matmul").matmul(self)
    def __neg__(self) -> "Tensor": return ops.Neg.apply(self)

    def __pow__(self, o: Any) -> "Tensor":
        if isinstance(o, (int, float, np.number)) or (isinstance(o, np.ndarray) and o.ndim == 0):
            return ops.PowScalar.apply(self, exponent=float(self._lift(o, "pow")._data))
        return ops.Pow.apply(self, self._lift(o, "pow"))

    def __rpow__(self, o: Any) -> "Tensor": return ops.Pow.apply(self._lift(o, "pow"), self)

    # comparisons: no gradient, bool result
    def _compare(self, o: Any, fn: Any) -> "Tensor":
        other = self._lift(o, fn.__name__)._data
        ops.broadcast_shape(fn.__name__, self.shape, other.shape)
        return Tensor(fn(self._data, other), _copy=False)

    def __lt__(self, o: Any) -> "Tensor": return self._compare(o, np.less)
    def __le__(self, o: Any) -> "Tensor": return self._compare(o, np.less_equal)
    def __gt__(self, o: Any) -> "Tensor": return self._compare(o, np.greater)
    def __ge__(self, o: Any) -> "Tensor": return self._compare(o, np.greater_equal)
    def eq(self, o: Any) -> "Tensor": return self._compare(o, np.equal)
    def ne(self, o: Any) -> "Tensor": return self._compare(o, np.not_equal)

    # ---------------------------------------------------- elementwise unary
    def exp(self) -> "Tensor": return ops.Exp.apply(self)
    def log(self) -> "Tensor": return ops.Log.apply(self)
    def sqrt(self) -> "Tensor": return ops.Sqrt.apply(self)
    def abs(self) -> "Tensor": return ops.Abs.apply(self)
    def sigmoid(self) -> "Tensor": return ops.Sigmoid.apply(self)
    def tanh(self) -> "Tensor": return ops.Tanh.apply(self)
    def relu(self) -> "Tensor": return ops.Relu.apply(self)

    def clip(self, low: Optional[float] = None, high: Optional[float] = None) -> "Tensor":
        """Clamp values to [low, high]; the gradient flows only where the value was not clamped."""
        for bound in (low, high):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float, np.number))):
                raise TypeError(f"clip: bounds must be numbers or None, got low={low!r}, high={high!r}")
        return ops.Clip.apply(self, low=low, high=high)

    # ------------------------------------------------------------ reductions
    def sum(self, axis: Axis = None, keepdims: bool = False) -> "Tensor":
        return ops.Sum.apply(self, axis=ops.normalize_axis(axis, self.ndim, "sum"), keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> "Tensor":
        """Maximum over axis; tied maxima share the gradient evenly."""
        return ops.Max.apply(self, axis=ops.normalize_axis(axis, self.ndim, "max"), keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> "Tensor":
        """Minimum over axis, written as -max(-x); ties share the gradient evenly."""
        return -((-self).max(ops.normalize_axis(axis, self.ndim, "min"), keepdims))

    def mean(self, axis: Axis = None, keepdims: bool = False) -> "Tensor":
        axes = ops.normalize_axis(axis, self.ndim, "mean")
        count = int(np.prod([self.shape[a] for a in axes])) if axes else self.size
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty axis (shape {self.shape}, axis {axis!r})")
        return self.sum(axes, keepdims) * (1.0 / count)

    def softmax(self, axis: int = -1) -> "Tensor":
        """exp(x) / sum(exp(x)) along axis, shifted by the (constant) max for stability."""
        axis = ops.normalize_axis(axis, self.ndim, "softmax")
        e = (self - self.max(axis, keepdims=True).detach()).exp()
        return e / e.sum(axis, keepdims=True)

    def log_softmax(self, axis: int = -1) -> "Tensor":
        """x - logsumexp(x) along axis, stable for large |x|."""
        axis = ops.normalize_axis(axis, self.ndim, "log_softmax")
        shifted = self - self.max(axis, keepdims=True).detach()
        return shifted - shifted.exp().sum(axis, keepdims=True).log()

    # -------------------------------------------------------------- movement
    def reshape(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
            raise TypeError(f"reshape: the target shape must be ints, got {shape!r}")
        return ops.Reshape.apply(self, shape=ops.resolve_shape(self.shape, shape))

    def flatten(self, start_dim: int = 1) -> "Tensor":
        """Merge the dims from start_dim on (row-major): (N, C, H, W) -> (N, C*H*W)."""
        (start,) = ops.normalize_axis(start_dim, self.ndim, "flatten") if self.ndim else (0,)
        return self.reshape(self.shape[:start] + (-1,))

    def permute(self, *axes: Any) -> "Tensor":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"permute: axes must be ints, got {axes!r}")
        return ops.Permute.apply(self, axes=ops.check_permutation(axes, self.ndim))

    def transpose(self, dim0: Optional[int] = None, dim1: Optional[int] = None) -> "Tensor":
        """Reverse all axes (no arguments), or swap dim0 and dim1."""
        axes = list(range(self.ndim))
        if dim0 is None and dim1 is None:
            axes.reverse()
        elif dim0 is None or dim1 is None:
            raise TypeError(f"transpose: give both dim0 and dim1, or neither; got dim0={dim0!r}, dim1={dim1!r}")
        else:
            d0, d1 = (ops.normalize_axis(d, self.ndim, "transpose")[0] for d in (dim0, dim1))
            axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(tuple(axes))

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def __getitem__(self, index: Any) -> "Tensor":
        return ops.Index.apply(self, index=ops.normalize_index(index, self.shape))

    def pad(self, pad_width: Any, value: float = 0.0) -> "Tensor":
        """Constant padding, `pad_width` as for np.pad (int, pair, or one pair per axis)."""
        return ops.Pad.apply(self, pad_width=ops.normalize_pad(pad_width, self.ndim), value=value)

    # ------------------------------------------------------------ contractions
    def matmul(self, other: Any) -> "Tensor":
        """Matrix product with NumPy semantics (1-D, 2-D, batched with broadcast batch dims)."""
        return ops.MatMul.apply(self, self._lift(other))

    def conv2d(self, weight: "Tensor", bias: Optional["Tensor"] = None,
               stride: IntOrPair = 1, padding: IntOrPair = 0) -> "Tensor":
        """2-D cross-correlation, NCHW input, (F, C, KH, KW) weight; see `tg.conv2d`."""
        from .conv import conv2d
        return conv2d(self, weight, bias, stride, padding)

    def threshold(self, t: "Tensor") -> "Tensor":
        """Add a per-channel threshold t of shape (C,) over N, H, W."""
        from .conv import threshold
        return threshold(self, t)

    def avg_pool2d(self, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None) -> "Tensor":
        from .conv import avg_pool2d
        return avg_pool2d(self, kernel_size, stride)

    def max_pool2d(self, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None) -> "Tensor":
        from .conv import max_pool2d
        return max_pool2d(self, kernel_size, stride)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    ops.check_concat_shapes([t.shape for t in tensors], axis)
    axis = ops.normalize_axis(axis, tensors[0].ndim, "concatenate")[0]
    return ops.Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in tensors]}")
    ndim = tensors[0].ndim + 1
    axis = ops.normalize_axis(axis, ndim, "stack")[0]
    expanded = [t.reshape(t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors]
    return concatenate(expanded, axis)
