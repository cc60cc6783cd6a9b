"""PyTorch's functions of tensors: `tg.exp(x)`, `tg.sum(x, dim=1)`, `tg.max(x, 1)`, `tg.where(c, x, y)`,
`tg.clamp(x, min=0)`, ... Each is the `Tensor` method of the same name (see its documentation) applied
to `input`, which may also be an array or a number (made a tensor as `tg.Tensor` does).
"""
from __future__ import annotations

from typing import Any

from .tensor import Tensor, as_tensor
from .tensor.math import where

__all__ = ["where", "is_tensor", "numel", "abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos",
           "sign", "sigmoid", "tanh", "relu", "square", "neg", "clamp", "clip", "maximum", "minimum",
           "masked_fill", "add", "sub", "mul", "div", "pow", "matmul", "sum", "mean", "var", "std",
           "logsumexp", "amax", "amin", "max", "min", "argmax", "argmin", "all", "any", "softmax",
           "log_softmax", "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "swapaxes", "permute",
           "gather", "index_select", "chunk", "split", "tril", "triu"]


def is_tensor(obj: Any) -> bool:
    """True if `obj` is a Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of `input`."""
    return as_tensor(input).numel()


def abs(input: Any) -> Tensor:
    """|x|, elementwise (`input.abs()`)."""
    return as_tensor(input).abs()


def exp(input: Any) -> Tensor:
    """E ** x, elementwise (`input.exp()`)."""
    return as_tensor(input).exp()


def log(input: Any) -> Tensor:
    """Natural logarithm, elementwise (`input.log()`)."""
    return as_tensor(input).log()


def log1p(input: Any) -> Tensor:
    """Log(1 + x), elementwise (`input.log1p()`)."""
    return as_tensor(input).log1p()


def expm1(input: Any) -> Tensor:
    """Exp(x) - 1, elementwise (`input.expm1()`)."""
    return as_tensor(input).expm1()


def sqrt(input: Any) -> Tensor:
    """Square root, elementwise (`input.sqrt()`)."""
    return as_tensor(input).sqrt()


def sin(input: Any) -> Tensor:
    """Sine, elementwise (`input.sin()`)."""
    return as_tensor(input).sin()


def cos(input: Any) -> Tensor:
    """Cosine, elementwise (`input.cos()`)."""
    return as_tensor(input).cos()


def sign(input: Any) -> Tensor:
    """-1, 0 or 1, elementwise (zero gradient) (`input.sign()`)."""
    return as_tensor(input).sign()


def sigmoid(input: Any) -> Tensor:
    """1 / (1 + exp(-x)), elementwise (`input.sigmoid()`)."""
    return as_tensor(input).sigmoid()


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent, elementwise (`input.tanh()`)."""
    return as_tensor(input).tanh()


def relu(input: Any) -> Tensor:
    """Max(x, 0), elementwise (`input.relu()`)."""
    return as_tensor(input).relu()


def square(input: Any) -> Tensor:
    """X ** 2, elementwise (`input.square()`)."""
    return as_tensor(input).square()


def neg(input: Any) -> Tensor:
    """-x (`input.neg()`)."""
    return as_tensor(input).neg()


def clamp(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Clamp to [min, max]: `input.clamp(*args, **kwargs)`, see `Tensor.clamp`."""
    return as_tensor(input).clamp(*args, **kwargs)


def clip(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Alias of `clamp`: `input.clip(*args, **kwargs)`, see `Tensor.clip`."""
    return as_tensor(input).clip(*args, **kwargs)


def maximum(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Elementwise maximum of two tensors: `input.maximum(*args, **kwargs)`, see `Tensor.maximum`."""
    return as_tensor(input).maximum(*args, **kwargs)


def minimum(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Elementwise minimum of two tensors: `input.minimum(*args, **kwargs)`, see `Tensor.minimum`."""
    return as_tensor(input).minimum(*args, **kwargs)


def masked_fill(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """`value` where `mask` is True: `input.masked_fill(*args, **kwargs)`, see `Tensor.masked_fill`."""
    return as_tensor(input).masked_fill(*args, **kwargs)


def add(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """input + alpha * other: `input.add(*args, **kwargs)`, see `Tensor.add`."""
    return as_tensor(input).add(*args, **kwargs)


def sub(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """input - alpha * other: `input.sub(*args, **kwargs)`, see `Tensor.sub`."""
    return as_tensor(input).sub(*args, **kwargs)


def mul(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """input * other: `input.mul(*args, **kwargs)`, see `Tensor.mul`."""
    return as_tensor(input).mul(*args, **kwargs)


def div(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """input / other: `input.div(*args, **kwargs)`, see `Tensor.div`."""
    return as_tensor(input).div(*args, **kwargs)


def pow(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """input ** exponent: `input.pow(*args, **kwargs)`, see `Tensor.pow`."""
    return as_tensor(input).pow(*args, **kwargs)


def matmul(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Matrix product: `input.matmul(*args, **kwargs)`, see `Tensor.matmul`."""
    return as_tensor(input).matmul(*args, **kwargs)


def sum(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Sum over dims: `input.sum(*args, **kwargs)`, see `Tensor.sum`."""
    return as_tensor(input).sum(*args, **kwargs)


def mean(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Mean over dims: `input.mean(*args, **kwargs)`, see `Tensor.mean`."""
    return as_tensor(input).mean(*args, **kwargs)


def var(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Variance over dims (correction 1 unless given): `input.var(*args, **kwargs)`, see `Tensor.var`."""
    return as_tensor(input).var(*args, **kwargs)


def std(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Standard deviation over dims (correction 1 unless given): `input.std(*args, **kwargs)`, see `Tensor.std`."""
    return as_tensor(input).std(*args, **kwargs)


def logsumexp(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """log(sum(exp(x))) over dims: `input.logsumexp(*args, **kwargs)`, see `Tensor.logsumexp`."""
    return as_tensor(input).logsumexp(*args, **kwargs)


def amax(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Maximum over dims (ties share the gradient): `input.amax(*args, **kwargs)`, see `Tensor.amax`."""
    return as_tensor(input).amax(*args, **kwargs)


def amin(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Minimum over dims (ties share the gradient): `input.amin(*args, **kwargs)`, see `Tensor.amin`."""
    return as_tensor(input).amin(*args, **kwargs)


def max(input: Any, *args: Any, **kwargs: Any) -> Any:
    """Maximum of all elements, (values, indices) along a dim, or the elementwise maximum with a
    tensor: `input.max(*args, **kwargs)`, see `Tensor.max`."""
    return as_tensor(input).max(*args, **kwargs)


def min(input: Any, *args: Any, **kwargs: Any) -> Any:
    """Minimum of all elements, (values, indices) along a dim, or the elementwise minimum with a
    tensor: `input.min(*args, **kwargs)`, see `Tensor.min`."""
    return as_tensor(input).min(*args, **kwargs)


def argmax(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Index of the first maximum: `input.argmax(*args, **kwargs)`, see `Tensor.argmax`."""
    return as_tensor(input).argmax(*args, **kwargs)


def argmin(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Index of the first minimum: `input.argmin(*args, **kwargs)`, see `Tensor.argmin`."""
    return as_tensor(input).argmin(*args, **kwargs)


def all(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """True where all elements are nonzero: `input.all(*args, **kwargs)`, see `Tensor.all`."""
    return as_tensor(input).all(*args, **kwargs)


def any(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """True where some element is nonzero: `input.any(*args, **kwargs)`, see `Tensor.any`."""
    return as_tensor(input).any(*args, **kwargs)


def softmax(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Softmax along a dim: `input.softmax(*args, **kwargs)`, see `Tensor.softmax`."""
    return as_tensor(input).softmax(*args, **kwargs)


def log_softmax(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Log-softmax along a dim: `input.log_softmax(*args, **kwargs)`, see `Tensor.log_softmax`."""
    return as_tensor(input).log_softmax(*args, **kwargs)


def reshape(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """The same data in a new shape: `input.reshape(*args, **kwargs)`, see `Tensor.reshape`."""
    return as_tensor(input).reshape(*args, **kwargs)


def flatten(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Merge dims start_dim..end_dim (all by default): `input.flatten(*args, **kwargs)`, see `Tensor.flatten`."""
    return as_tensor(input).flatten(*args, **kwargs)


def squeeze(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Drop dims of size 1: `input.squeeze(*args, **kwargs)`, see `Tensor.squeeze`."""
    return as_tensor(input).squeeze(*args, **kwargs)


def unsqueeze(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Insert a dim of size 1: `input.unsqueeze(*args, **kwargs)`, see `Tensor.unsqueeze`."""
    return as_tensor(input).unsqueeze(*args, **kwargs)


def transpose(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Swap two dims: `input.transpose(*args, **kwargs)`, see `Tensor.transpose`."""
    return as_tensor(input).transpose(*args, **kwargs)


def swapaxes(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Swap two axes: `input.swapaxes(*args, **kwargs)`, see `Tensor.swapaxes`."""
    return as_tensor(input).swapaxes(*args, **kwargs)


def permute(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Reorder the dims: `input.permute(*args, **kwargs)`, see `Tensor.permute`."""
    return as_tensor(input).permute(*args, **kwargs)


def gather(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Values along a dim at the given indices: `input.gather(*args, **kwargs)`, see `Tensor.gather`."""
    return as_tensor(input).gather(*args, **kwargs)


def index_select(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """The entries at `index` along a dim: `input.index_select(*args, **kwargs)`, see `Tensor.index_select`."""
    return as_tensor(input).index_select(*args, **kwargs)


def chunk(input: Any, *args: Any, **kwargs: Any) -> tuple[Tensor, ...]:
    """Split into a number of pieces along a dim: `input.chunk(*args, **kwargs)`, see `Tensor.chunk`."""
    return as_tensor(input).chunk(*args, **kwargs)


def split(input: Any, *args: Any, **kwargs: Any) -> tuple[Tensor, ...]:
    """Split into pieces of one size, or of the sizes given, along a dim: `input.split(*args,
    **kwargs)`, see `Tensor.split`."""
    return as_tensor(input).split(*args, **kwargs)


def tril(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Lower triangle of the last two dims: `input.tril(*args, **kwargs)`, see `Tensor.tril`."""
    return as_tensor(input).tril(*args, **kwargs)


def triu(input: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Upper triangle of the last two dims: `input.triu(*args, **kwargs)`, see `Tensor.triu`."""
    return as_tensor(input).triu(*args, **kwargs)
