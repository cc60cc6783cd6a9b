"""`TensorBase`: the state of a tensor (data, gradient, place on the tape, version counter) and
Python's operators, size()/numel(), fill_/zero_. `Tensor` (tensor.py) adds the methods, family by
family, in subclasses: base.py -> math.py (elementwise) -> shaping.py (movement, indexing) ->
reductions.py (sums, extremes, statistics, softmax) -> tensor.py (contractions, conv, pooling,
dtype conversions)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import numpy as np

from ..autograd import engine
from ..autograd.accumulation import grad_lock
from ..autograd.function import Context
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.versions import VersionCounter
from ..ops import elementwise
from ..ops import shape_checks as checks

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor

Axis = int | tuple[int, ...] | None
IntOrPair = int | tuple[int, int]
T = TypeVar("T", bound="TensorBase")


def _to_array(data: Any, dtype: Any, op: str = "Tensor") -> np.ndarray:
    """Validate user data; floats become float32 unless a dtype is given."""
    if isinstance(data, TensorBase):
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


def _new(data: np.ndarray, name: str | None = None) -> Tensor:
    """A `Tensor` (the full class) around `data`, not copied."""
    from .tensor import Tensor

    return Tensor(data, _copy=False, name=name)


class TensorBase:
    """The state of a `Tensor` (data, gradient, place on the tape, version counter) and Python's
    operators; `Tensor` (tensor.py) is the class users make and see."""

    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operators
    _guard: VersionCounter | None = None  # created when first needed; shared by tensors sharing memory

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None, _copy: bool = True):
        if _copy:
            data = _to_array(data, dtype)
        self._data: np.ndarray = data
        if requires_grad and data.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: only floating point tensors can require grad, got dtype {data.dtype}"
            )
        self.requires_grad: bool = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self.name = name
        self._ctx: Context | None = None
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
        if isinstance(value, TensorBase):
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
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension."""
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data."""
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    @overload
    def size(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def size(self, dim: int) -> int: ...

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape (like PyTorch's `x.size()`), or the size of dimension `dim`."""
        if dim is None:
            return self._data.shape
        if self.ndim == 0:
            raise ValueError(f"size: a 0-d tensor has no dimensions, got dim={dim!r}")
        return self._data.shape[checks.single_axis(dim, self.ndim, "size")]

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    def dim(self) -> int:
        """The number of dimensions (as `ndim`)."""
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        """True for a tensor not produced by a recorded op (created by the user)."""
        return self._ctx is None

    @property
    def grad_fn(self) -> str | None:
        """Name of the op that produced this tensor (None for leaves)."""
        return None if self._ctx is None else self._ctx.op_name

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied), like `.data`."""
        return self.data

    def tolist(self) -> Any:
        """The data as (nested lists of) Python numbers."""
        return self._data.tolist()

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: tensor has {self._data.size} elements (shape {self.shape}); need exactly 1")
        return self._data.item()

    def detach(self) -> Tensor:
        """A new leaf sharing the data (and its version counter), cut from the graph."""
        out = _new(self._data, name=self.name)
        out._guard = self._counter()
        return out

    def detach_(self: T) -> T:
        """Cut this tensor from the graph in place: it becomes a leaf that does not require grad."""
        self._ctx = None
        self.requires_grad = False
        return self

    def fill_(self: T, value: Any) -> T:
        """Write `value` into every element, in place (a new version of the data, see `.data`).

        Allowed where no graph can see it: on tensors that do not require grad, or inside
        `tg.no_grad()` (as PyTorch, e.g. to reset a parameter). In-place ops are not recorded on
        the tape, so on a tensor in a graph (with grad mode on) this raises."""
        if self.requires_grad and is_grad_enabled():
            kind = "a leaf" if self._ctx is None else "a non-leaf"
            raise RuntimeError(f"fill_: {kind} tensor {self._describe()} that requires grad cannot be changed "
                               "in place while grad mode is on; wrap the update in `with tg.no_grad():`")
        if isinstance(value, TensorBase):
            if value._data.size != 1:
                raise ValueError(f"fill_: value must be a number or a one-element tensor, got shape {value.shape}")
            value = value._data.reshape(())
        self._data[...] = value
        self._counter().bump()
        return self

    def zero_(self: T) -> T:
        """Set every element to 0, in place (see `fill_`)."""
        return self.fill_(0)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def retain_grad(self: T) -> T:
        """Keep this non-leaf tensor's gradient in `.grad` during backward."""
        self._retains_grad = True
        return self

    def requires_grad_(self: T, flag: bool = True) -> T:
        """Set `requires_grad` in place (only floating point tensors can require grad); returns self."""
        if flag and self._data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad_: only floating point tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = flag
        return self

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to `dtype`, on the tape: the gradient is cast back to this tensor's dtype."""
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"astype: {exc}") from None
        if dtype.kind not in "biufc":
            raise TypeError(f"astype: dtype {dtype} is not supported; give a numeric dtype")
        return elementwise.Cast.apply(self, dtype=dtype)

    def backward(self, grad: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        `.grad` is an ndarray, never on the tape; for gradients that can be differentiated again use
        `tg.grad(outputs, inputs, create_graph=True)`, which returns them as tensors.
        """
        if create_graph:
            raise ValueError("backward: .grad holds plain arrays, so create_graph=True is not supported "
                             "here; use tg.grad(output, inputs, create_graph=True), which returns the "
                             "gradients as tensors on the tape")
        engine.backward(cast("Tensor", self), grad, retain_graph)

    def _accumulate(self, g: np.ndarray) -> None:
        with grad_lock(self):  # safe from several threads at once
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
    def _lift(self, other: Any, op: str = "operator") -> Tensor:
        """Turn a Python number or array into a tensor of this tensor's float dtype."""
        if isinstance(other, TensorBase):
            return cast("Tensor", other)  # every tensor is a Tensor; TensorBase is never made alone
        try:
            arr = np.asarray(other)
        except ValueError as exc:
            raise TypeError(f"{op}: cannot use {type(other).__name__} as an operand: {exc}") from None
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{op}: unsupported operand {other!r} of dtype {arr.dtype}; give numbers or a tensor")
        if self.dtype.kind == "f" and arr.dtype.kind in "biuf":
            arr = arr.astype(self.dtype)
        return _new(arr)

    def __add__(self, o: Any) -> Tensor: return elementwise.Add.apply(self, self._lift(o, "add"))
    def __radd__(self, o: Any) -> Tensor: return elementwise.Add.apply(self._lift(o, "add"), self)
    def __sub__(self, o: Any) -> Tensor: return elementwise.Sub.apply(self, self._lift(o, "sub"))
    def __rsub__(self, o: Any) -> Tensor: return elementwise.Sub.apply(self._lift(o, "sub"), self)
    def __mul__(self, o: Any) -> Tensor: return elementwise.Mul.apply(self, self._lift(o, "mul"))
    def __rmul__(self, o: Any) -> Tensor: return elementwise.Mul.apply(self._lift(o, "mul"), self)
    def __truediv__(self, o: Any) -> Tensor: return elementwise.Div.apply(self, self._lift(o, "div"))
    def __rtruediv__(self, o: Any) -> Tensor: return elementwise.Div.apply(self._lift(o, "div"), self)
    def __neg__(self) -> Tensor: return elementwise.Neg.apply(self)

    def __pow__(self, o: Any) -> Tensor:
        if isinstance(o, (int, float, np.number)) or (isinstance(o, np.ndarray) and o.ndim == 0):
            return elementwise.PowScalar.apply(self, exponent=float(self._lift(o, "pow")._data))
        return elementwise.Pow.apply(self, self._lift(o, "pow"))

    def __rpow__(self, o: Any) -> Tensor: return elementwise.Pow.apply(self._lift(o, "pow"), self)

    # comparisons: no gradient, bool result
    def _compare(self, o: Any, fn: Any) -> Tensor:
        other = self._lift(o, fn.__name__)._data
        checks.broadcast_shape(fn.__name__, self.shape, other.shape)
        return _new(fn(self._data, other))

    def __lt__(self, o: Any) -> Tensor: return self._compare(o, np.less)
    def __le__(self, o: Any) -> Tensor: return self._compare(o, np.less_equal)
    def __gt__(self, o: Any) -> Tensor: return self._compare(o, np.greater)
    def __ge__(self, o: Any) -> Tensor: return self._compare(o, np.greater_equal)

    def eq(self, o: Any) -> Tensor:
        """Elementwise ==, as a bool tensor (no gradient)."""
        return self._compare(o, np.equal)

    def ne(self, o: Any) -> Tensor:
        """Elementwise !=, as a bool tensor (no gradient)."""
        return self._compare(o, np.not_equal)

    # logical operators of bool (and bitwise of integer) tensors: no gradient
    def _logical(self, o: Any, fn: Any) -> Tensor:
        other = o._data if isinstance(o, TensorBase) else np.asarray(o)
        for arr in (self._data, other):
            if arr.dtype.kind not in "biu":
                raise TypeError(f"{fn.__name__}: needs bool or integer tensors, got dtype {arr.dtype}")
        checks.broadcast_shape(fn.__name__, self.shape, other.shape)
        return _new(fn(self._data, other))

    def __and__(self, o: Any) -> Tensor: return self._logical(o, np.bitwise_and)
    def __rand__(self, o: Any) -> Tensor: return self._logical(o, np.bitwise_and)
    def __or__(self, o: Any) -> Tensor: return self._logical(o, np.bitwise_or)
    def __ror__(self, o: Any) -> Tensor: return self._logical(o, np.bitwise_or)
    def __xor__(self, o: Any) -> Tensor: return self._logical(o, np.bitwise_xor)
    def __rxor__(self, o: Any) -> Tensor: return self._logical(o, np.bitwise_xor)

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind not in "biu":
            raise TypeError(f"invert: needs a bool or integer tensor, got dtype {self.dtype}")
        return _new(np.invert(self._data))

    def logical_not(self) -> Tensor:
        """Elementwise not, as a bool tensor (no gradient); 0 is False, anything else True."""
        return _new(np.logical_not(self._data))
