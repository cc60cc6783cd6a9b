"""Primitive ops, one `Function` per op, by family: elementwise, select (where, maximum), reduce,
movement, matmul, conv, pool and loss; conv's lowerings to matrix products; shape checks; and the
execution helpers the ops share: `parallel` (one op's work on all cores) and `allocator` (malloc settings).

The families are imported where they are used (`from tinygrad_np.ops import conv`); this package
imports none of them itself, so that `Tensor`, which the ops return, can import the families it
is made of without a loop at import time.
"""
