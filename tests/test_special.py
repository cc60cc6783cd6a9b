"""The vectorised error function against `math.erf`: within 2 ulp everywhere (the Taylor range,
every Chebyshev interval and its edges, the saturated tails), special values kept, dtype kept."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_np.ops.special import erf_array


def ulp_distance(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.maximum(np.abs(want), np.finfo(np.float64).tiny))


def test_erf_within_two_ulp_of_math_erf_over_dense_and_random_grids():
    rng = np.random.default_rng(0)
    edges = np.arange(0.5, 6.001, 0.125)
    x = np.concatenate([
        np.linspace(-7.0, 7.0, 140_001),
        rng.standard_normal(100_000) * 2.0,
        10.0 ** rng.uniform(-300, 0, 20_000) * rng.choice([-1.0, 1.0], 20_000),
        np.concatenate([np.nextafter(edges, -np.inf), edges, np.nextafter(edges, np.inf)]),
    ])
    want = np.array([math.erf(v) for v in x])
    assert ulp_distance(erf_array(x), want).max() <= 2.0


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_erf_of_any_float(v):
    assert ulp_distance(erf_array(np.array([v])), np.array([math.erf(v)]))[0] <= 2.0


def test_erf_special_values_and_signs():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0, -6.0, 1e-310])
    got = erf_array(x)
    np.testing.assert_array_equal(got[[0, 2, 3, 5, 6]], [0.0, 1.0, -1.0, 1.0, -1.0])
    assert np.signbit(got[1])
    assert np.isnan(got[4])
    assert got[7] == pytest.approx(2 / math.sqrt(math.pi) * 1e-310, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_erf_keeps_float_dtype_and_shape(dtype):
    x = (np.arange(24).reshape(2, 3, 4) / 5 - 2).astype(dtype)
    got = erf_array(x.T)  # a non-contiguous input
    assert got.shape == (4, 3, 2)
    assert got.dtype == (np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.float64)
    np.testing.assert_allclose(got, np.vectorize(math.erf)(x.T.astype(np.float64)), rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert erf_array(np.zeros((0, 3))).shape == (0, 3)
    assert erf_array(np.array(0.5)).shape == ()
