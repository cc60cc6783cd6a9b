"""matmul with NumPy semantics: 1-D, 2-D, batched and broadcast batch dims."""
import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_np.testing import strategies as tst


@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(1, 4), label=s) for s in "mkn")
    batch_a, batch_b = draw(tst.broadcastable_shapes(max_dims=2, max_side=3), label="batch dims")
    a = (k,) if draw(st.booleans(), label="a is 1-D") else batch_a + (m, k)
    b = (k,) if draw(st.booleans(), label="b is 1-D") else batch_b + (k, n)
    return a, b


@given(shapes=matmul_shapes(), data=st.data())
def test_matmul(shapes, data):
    a = data.draw(tst.tensors(shapes[0]), label="a")
    b = data.draw(tst.tensors(shapes[1]), label="b")
    np.testing.assert_allclose((a @ b).data, np.matmul(a.data, b.data), rtol=1e-12)
    check_gradients(data, lambda x, y: x @ y, a, b)


def test_matmul_inner_dimension_error():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: \(2, 3\) @ \(4, 5\) \(3 != 4\)"):
        t64(np.zeros((2, 3))) @ t64(np.zeros((4, 5)))
