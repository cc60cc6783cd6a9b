"""load_image on files that are not ordinary 8-bit pictures: integer and float modes, NaN pixels,
images above the pixel cap, FIFOs."""
import os

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")
from helpers import call_unblocking_fifos, huge_png  # noqa: E402

from tinygrad_np import data  # noqa: E402
from tinygrad_np.data import MAX_IMAGE_PIXELS, load_image  # noqa: E402
from tinygrad_np.data.images import pil_to_gray  # noqa: E402


def ramp(high, low=0.0, dtype=np.float32, n=8):
    """An n x n image whose values run from low to high (so no resize happens at size=n)."""
    return np.linspace(low, high, n * n).reshape(n, n).astype(dtype)


def save_tiff(path, array):
    Image.fromarray(array).save(path)
    return path


# ------------------------------------------------------------------------- non-finite pixels
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused_naming_the_file(tmp_path, bad):
    values = ramp(1.0)
    values[3, 4] = bad
    path = save_tiff(tmp_path / "poisoned.tif", values)
    with pytest.raises(ValueError, match=r"poisoned\.tif.*1 of 64 pixels are NaN or infinite"):
        load_image(path, size=8)


# ------------------------------------------------------------------------- scaling by mode
@pytest.mark.parametrize(("high", "scale"), [(0.75, 1.0), (1.0, 1.0), (200.0, 255.0), (1000.0, 65535.0)])
def test_float_images_within_a_known_range_are_scaled_by_it(tmp_path, high, scale):
    values = ramp(high)
    out = load_image(save_tiff(tmp_path / "f.tif", values), size=8)
    np.testing.assert_allclose(out, values / scale, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("high", "low"), [(1e6, 10.0), (0.5, -0.5), (300.0, -2.0)])
def test_float_images_beyond_16_bits_or_negative_are_min_max_scaled(tmp_path, high, low):
    values = ramp(high, low)
    out = load_image(save_tiff(tmp_path / "f.tif", values), size=8)
    np.testing.assert_allclose(out, (values - low) / (high - low), rtol=1e-5, atol=1e-6)
    assert out.min() == 0.0
    assert out.max() == pytest.approx(1.0)


def test_32_bit_tiff_holding_8_bit_values_is_scaled_by_255(tmp_path):
    values = ramp(255, dtype=np.int32)
    out = load_image(save_tiff(tmp_path / "i8.tif", values), size=8)
    np.testing.assert_allclose(out, values / 255, rtol=1e-6, atol=1e-7)


def test_32_bit_tiff_beyond_16_bits_is_scaled_by_its_declared_depth(tmp_path):
    values = np.full((8, 8), 2**30, np.int32)  # signed 32-bit TIFF: largest value 2**31 - 1
    values[0, 0] = 0
    out = load_image(save_tiff(tmp_path / "i.tif", values), size=8)
    np.testing.assert_allclose(out[1:], 2**30 / (2**31 - 1), rtol=1e-6)
    assert out[0, 0] == 0.0


@pytest.mark.parametrize(("high", "scale"), [(200, 255), (255, 255), (1000, 65535), (100_000, 2**32 - 1)])
def test_integer_images_without_a_declared_depth_use_the_smallest_range_holding_them(high, scale):
    values = ramp(high, dtype=np.int32)
    out = pil_to_gray(Image.fromarray(values), 8)  # mode "I" made in memory: no file, no bit depth
    np.testing.assert_allclose(out, values / scale, rtol=1e-6, atol=1e-9)


def test_negative_integer_images_are_min_max_scaled():
    values = ramp(50, -50, dtype=np.int32)
    out = pil_to_gray(Image.fromarray(values), 8)
    np.testing.assert_allclose(out, (values + 50) / 100, rtol=1e-6, atol=1e-7)


def test_16_bit_images_are_scaled_by_65535(tmp_path):
    values = ramp(300, dtype=np.uint16)  # dim 16-bit data stays dim
    Image.fromarray(values).save(tmp_path / "deep.png")
    Image.fromarray(values).save(tmp_path / "deep.pgm")
    for name in ("deep.png", "deep.pgm"):
        np.testing.assert_allclose(load_image(tmp_path / name, 8), values / 65535, rtol=1e-6, err_msg=name)


# ------------------------------------------------------------------------- pixel cap
def test_images_above_the_pixel_cap_are_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import ImageFile

    path = huge_png(tmp_path / "wide.png", 7000, 6000)  # 42 Mpx in a few KB

    def no_decoding(self):
        raise AssertionError("decoded an image above the cap")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ValueError, match=r"wide\.png.*7000x6000 = 42,000,000 pixels.*cap of 40,000,000"):
        load_image(path)
    assert MAX_IMAGE_PIXELS == 40_000_000


def test_max_pixels_keyword(tmp_path):
    path = huge_png(tmp_path / "small.png", 40, 30)
    with pytest.raises(ValueError, match=r"small\.png.*40x30 = 1,200 pixels.*cap of 1,000"):
        load_image(path, 8, max_pixels=1000)
    np.testing.assert_array_equal(load_image(path, 8, max_pixels=1200), 0.0)
    np.testing.assert_array_equal(load_image(path, 8, max_pixels=None), 0.0)
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError, match="max_pixels"):
            load_image(path, 8, max_pixels=bad)


def test_images_above_pillows_own_limit_name_the_cap(tmp_path):
    path = huge_png(tmp_path / "vast.png", 20000, 10000)  # 200 Mpx: Pillow refuses it in open()
    with pytest.raises(ValueError, match=r"vast\.png.*cap of 40,000,000 pixels"):
        load_image(path)


def test_large_8_bit_images_are_reduced_in_pillow_first(tmp_path):
    path = tmp_path / "big.png"
    stripes = np.zeros((2400, 2400), np.uint8)
    stripes[:, 1200:] = 255
    Image.fromarray(stripes).save(path)
    out = load_image(path, size=50)
    np.testing.assert_allclose(out[:, :23], 0.0, atol=0.01)
    np.testing.assert_allclose(out[:, 27:], 1.0, atol=0.01)


# ------------------------------------------------------------------------- not regular files
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"x\.png.*FIFO"):
        call_unblocking_fifos(lambda: load_image(fifo), [fifo])


def test_dangling_and_looping_symlinks(tmp_path):
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "gone.png")
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"a\.png.*symbolic links"):
        load_image(tmp_path / "a.png")


def test_data_package_exports_the_cap():
    assert data.MAX_IMAGE_PIXELS == MAX_IMAGE_PIXELS
