"""Functions of tensors with torch.nn.functional's names and arguments (also `tg.functional`):
activations, losses, normalization, dropout, pooling, resampling, lookups and linear maps.

    import tinygrad_np as tg
    import tinygrad_np.nn.functional as F
    loss = F.cross_entropy(logits, labels, label_smoothing=0.1)

Almost everything is a composite of the tensor ops (differentiable twice without a backward
of its own); the modules below say which pieces are primitives. Arguments after the ones
PyTorch users pass by position (weight, ignore_index, reduction, ...) may be keyword-only.
"""
from .activation import (
    elu,
    gelu,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    mish,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from .classification import cross_entropy, nll_loss
from .conv import conv2d, conv_transpose2d, linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from .normalization import batch_norm, group_norm, layer_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .regularization import dropout, dropout2d
from .sampling import interpolate
from .sparse import embedding, one_hot

__all__ = [
    # activation
    "sigmoid", "relu", "relu6", "hardtanh", "tanh", "softmax", "log_softmax", "softplus", "leaky_relu", "elu",
    "gelu", "silu", "hardswish", "mish",
    # losses
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "cross_entropy", "nll_loss",
    # layers as functions
    "linear", "conv2d", "conv_transpose2d", "batch_norm", "layer_norm", "group_norm", "dropout", "dropout2d",
    "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d", "interpolate", "embedding", "one_hot",
]
