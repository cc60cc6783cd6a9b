import os
import warnings
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

from tinygrad_np import data  # noqa: E402
from tinygrad_np.data import (  # noqa: E402
    ImageDataset,
    iterate_batches,
    load_image,
    load_image_folder,
    standardize,
    train_val_split,
)


def save_rgb(path: Path, color=(255, 0, 0), size=(20, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def save_gradient(path: Path, width=64, height=32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    row = np.linspace(0, 255, width).astype(np.uint8)
    Image.fromarray(np.tile(row, (height, 1))).save(path)
    return path


def save_corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an image")
    return path


@pytest.fixture
def class_folder(tmp_path):
    root = tmp_path / "pets"
    save_rgb(root / "dogs" / "b.jpg", (0, 0, 255))
    save_rgb(root / "dogs" / "a.png", (0, 255, 0))
    save_rgb(root / "cats" / "x.PNG", (255, 255, 255))
    save_gradient(root / "cats" / "nested" / "y.bmp")
    save_rgb(root / "cats" / ".hidden.png")
    (root / "cats" / "notes.txt").write_text("not an image either")
    return root


# ----------------------------------------------------------------------------- load_image

def test_load_image_grayscale_and_resize(tmp_path):
    img = load_image(save_rgb(tmp_path / "red.png", (255, 0, 0), size=(30, 20)), size=8)
    assert img.shape == (8, 8)
    assert img.dtype == np.float32
    np.testing.assert_allclose(img, 0.299, atol=2 / 255)  # ITU-R 601 luma of pure red


def test_load_image_jpeg_and_gradient(tmp_path):
    jpg = load_image(save_rgb(tmp_path / "gray.jpg", (128, 128, 128), size=(64, 48)), size=10)
    np.testing.assert_allclose(jpg, 128 / 255, atol=3 / 255)
    grad = load_image(save_gradient(tmp_path / "grad.png"), size=16)
    assert grad.shape == (16, 16)
    assert grad.min() >= 0.0
    assert grad.max() <= 1.0
    assert np.all(np.diff(grad.mean(axis=0)) > 0)  # brightness still increases left to right


def test_load_image_transparency_and_16bit(tmp_path):
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    np.testing.assert_allclose(load_image(tmp_path / "clear.png", 4), 1.0)  # over white
    Image.fromarray(np.full((8, 8), 65535 // 2, dtype=np.uint16)).save(tmp_path / "deep.png")
    np.testing.assert_allclose(load_image(tmp_path / "deep.png", 4), 0.5, atol=1e-3)


def test_load_image_errors(tmp_path):
    bad = save_corrupt(tmp_path / "bad.jpg")
    with pytest.raises(ValueError, match="bad.jpg"):
        load_image(bad)
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="size"):
        load_image(save_rgb(tmp_path / "ok.png"), size=0)


# ----------------------------------------------------------------------------- folders

def test_class_subfolders(class_folder, tmp_path):
    ds = load_image_folder(class_folder, size=12, cache_dir=tmp_path / "cache")
    assert ds.class_names == ["cats", "dogs"]
    assert ds.images.shape == (4, 1, 12, 12)
    assert ds.images.dtype == np.float32
    assert ds.labels.dtype == np.int64
    assert ds.labels.tolist() == [0, 0, 1, 1]
    rel = [Path(p).relative_to(class_folder.resolve()).as_posix() for p in ds.paths]
    assert rel == ["cats/nested/y.bmp", "cats/x.PNG", "dogs/a.png", "dogs/b.jpg"]
    np.testing.assert_allclose(ds.images[1], 1.0)  # white
    assert len(ds) == 4
    assert "cats: 2" in repr(ds)


@pytest.mark.parametrize("sub", ["", "train"])
def test_kaggle_layout(tmp_path, sub):
    root = tmp_path / "kaggle"
    folder = root / sub if sub else root
    for i in range(3):
        save_rgb(folder / f"dog.{i}.jpg", (0, 0, 0))
        save_rgb(folder / f"cat.{i}.JPG", (255, 255, 255))
    if sub:
        save_rgb(root / "test1" / "1.jpg")  # unlabelled test set next to train/: ignored
    ds = load_image_folder(root, size=6, cache_dir=tmp_path / "cache")
    assert ds.class_names == ["cat", "dog"]
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert [Path(p).name for p in ds.paths] == ["cat.0.JPG", "cat.1.JPG", "cat.2.JPG",
                                                "dog.0.jpg", "dog.1.jpg", "dog.2.jpg"]
    assert ds.images[:3].min() > 0.9
    assert ds.images[3:].max() < 0.1


def test_kaggle_layout_unlabelled_name(tmp_path):
    save_rgb(tmp_path / "k" / "cat.0.png")
    save_rgb(tmp_path / "k" / "17.png")
    with pytest.raises(ValueError, match="17.png"):
        load_image_folder(tmp_path / "k", cache=False)


def test_corrupt_files_are_skipped_with_warnings(class_folder, tmp_path):
    save_corrupt(class_folder / "dogs" / "broken.jpg")
    with pytest.warns(UserWarning, match="broken.jpg|skipped") as record:
        ds = load_image_folder(class_folder, size=8, cache_dir=tmp_path / "cache")
    messages = [str(w.message) for w in record]
    assert sum("broken.jpg" in m for m in messages) == 1
    assert any("skipped 1 of 5 files" in m for m in messages)
    assert len(ds) == 4
    assert not any("broken" in p for p in ds.paths)


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="not a directory"):
        load_image_folder(save_rgb(tmp_path / "file.png"))
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images found"):
        load_image_folder(tmp_path / "empty", cache=False)
    save_rgb(tmp_path / "one" / "cats" / "a.png")
    with pytest.raises(ValueError, match="only one class.*'cats'"):
        load_image_folder(tmp_path / "one", cache=False)


def test_cache_hit_skips_decoding(class_folder, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    first = load_image_folder(class_folder, size=10, cache_dir=cache_dir)
    files = os.listdir(cache_dir)
    assert len(files) == 1
    assert files[0].endswith(".npz")

    def boom(*args, **kwargs):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(data.folders, "load_image", boom)
    second = load_image_folder(class_folder, size=10, cache_dir=cache_dir)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert (first.class_names, first.paths) == (second.class_names, second.paths)


def test_cache_key_depends_on_size_and_files(class_folder, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    load_image_folder(class_folder, size=10, cache_dir=cache_dir)
    calls = []
    real = data.load_image
    monkeypatch.setattr(data.folders, "load_image", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    load_image_folder(class_folder, size=9, cache_dir=cache_dir)
    assert len(calls) == 4
    save_rgb(class_folder / "dogs" / "c.png")
    assert len(load_image_folder(class_folder, size=9, cache_dir=cache_dir)) == 5
    assert len(calls) == 9
    assert len(os.listdir(cache_dir)) == 2  # one file per (folder, size), stale one replaced


def test_corrupt_cache_is_ignored(class_folder, tmp_path):
    cache_dir = tmp_path / "cache"
    first = load_image_folder(class_folder, size=10, cache_dir=cache_dir)
    (cache_file,) = cache_dir.iterdir()
    cache_file.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="corrupt image cache"):
        again = load_image_folder(class_folder, size=10, cache_dir=cache_dir)
    np.testing.assert_array_equal(first.images, again.images)
    assert os.listdir(cache_dir) == [cache_file.name]  # rewritten in place, no temp files
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image_folder(class_folder, size=10, cache_dir=cache_dir)


def test_cache_dir_from_env_and_cache_off(class_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_NP_CACHE", str(tmp_path / "env_cache"))
    load_image_folder(class_folder, size=5, cache=False)
    assert not (tmp_path / "env_cache").exists()
    load_image_folder(class_folder, size=5)
    assert len(os.listdir(tmp_path / "env_cache")) == 1


# ----------------------------------------------------------------------------- built-in data

def test_builtin_faces_and_cat():
    pytest.importorskip("skimage")
    ds = data.load_builtin_faces(size=20)
    assert ds.images.shape == (200, 1, 20, 20)
    assert ds.images.dtype == np.float32
    assert ds.class_names == ["face", "not_face"]
    assert ds.labels.tolist() == [0] * 100 + [1] * 100
    assert ds.paths[17] == "lfw_subset[17]"
    assert 0.0 <= ds.images.min()
    assert ds.images.max() <= 1.0
    cat = data.load_builtin_cat(size=16)
    assert cat.shape == (16, 16)
    assert cat.dtype == np.float32
    assert 0 < cat.mean() < 1


# ----------------------------------------------------------------------------- arrays

def make_ds(counts=(10, 6)) -> ImageDataset:
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    images = np.arange(len(labels) * 4, dtype=np.float32).reshape(-1, 1, 2, 2)
    return ImageDataset(images, labels, [f"c{c}" for c in range(len(counts))],
                        [f"img{i}" for i in range(len(labels))])


def test_dataset_subset_and_validation():
    ds = make_ds()
    sub = ds.subset([3, 0])
    assert sub.paths == ["img3", "img0"]
    assert sub.images.shape == (2, 1, 2, 2)
    assert len(ds.subset(ds.labels == 1)) == 6
    assert len(ds.subset([])) == 0
    with pytest.raises(ValueError, match="out of range"):
        ds.subset([16])
    with pytest.raises(ValueError, match="labels"):
        ImageDataset(ds.images, ds.labels[:3], ds.class_names, ds.paths)


def test_standardize():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 1, 5, 5)).astype(np.float32)
    x[1] = 0.7  # constant image
    z = standardize(x)
    assert z.dtype == np.float32
    assert z.shape == x.shape
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z[[0, 2]].mean(axis=(1, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(z[[0, 2]].std(axis=(1, 2, 3)), 1, atol=1e-5)
    assert np.all(z[1] == 0)
    assert standardize(x.astype(np.float64)).dtype == np.float64
    assert standardize(np.arange(8, dtype=np.uint8).reshape(2, 4)).dtype == np.float32


def test_train_val_split():
    ds = make_ds((10, 6))
    train, val = train_val_split(ds, 0.5, seed=1)
    again_train, again_val = train_val_split(ds, 0.5, seed=1)
    assert train.paths == again_train.paths
    assert val.paths == again_val.paths
    assert set(train.paths).isdisjoint(val.paths)
    assert sorted(train.paths + val.paths) == sorted(ds.paths)
    assert np.bincount(val.labels).tolist() == [5, 3]  # stratified
    assert train_val_split(ds, 0.5, seed=2)[1].paths != val.paths
    full, empty = train_val_split(ds, 0.0)
    assert len(full) == 16
    assert len(empty) == 0
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="val_fraction"):
            train_val_split(ds, bad)
    with pytest.raises(ValueError, match="non-empty"):
        train_val_split(make_ds((1, 1)), 0.2)


def test_iterate_batches():
    x = np.arange(10).reshape(10, 1) * 1.0
    y = np.arange(10)
    batches = list(iterate_batches(x, y, 4, shuffle=False))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[2][1].tolist() == [8, 9]
    assert [len(b[1]) for b in iterate_batches(x, y, 4, drop_last=True)] == [4, 4]
    shuffled = list(iterate_batches(x, y, 3, rng=np.random.default_rng(5)))
    seen = np.concatenate([b[1] for b in shuffled])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10))
    for xb, yb in shuffled:
        np.testing.assert_array_equal(xb[:, 0], yb)  # pairs stay together
    again = list(iterate_batches(x, y, 3, rng=np.random.default_rng(5)))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(shuffled, again, strict=False))


def test_iterate_batches_errors_are_eager():
    with pytest.raises(ValueError, match="batch_size"):
        iterate_batches(np.zeros((4, 1)), np.zeros(4), 0)
    with pytest.raises(ValueError, match="4 samples.*3"):
        iterate_batches(np.zeros((4, 1)), np.zeros(3), 2)


# ----------------------------------------------------------------------------- files that are not images

@pytest.mark.parametrize("cache", [True, False])
def test_dangling_and_looping_symlinks_are_skipped_with_a_warning(class_folder, tmp_path, cache):
    (class_folder / "dogs" / "gone.png").symlink_to(tmp_path / "missing.png")
    (class_folder / "cats" / "loop1.jpg").symlink_to(class_folder / "cats" / "loop2.jpg")
    (class_folder / "cats" / "loop2.jpg").symlink_to(class_folder / "cats" / "loop1.jpg")
    with pytest.warns(UserWarning, match="skipped") as record:
        ds = load_image_folder(class_folder, size=8, cache=cache, cache_dir=tmp_path / "cache")
    messages = [str(w.message) for w in record]
    assert any("gone.png" in m and "dangling symbolic link" in m for m in messages), messages
    assert any("loop1.jpg" in m and "symbolic links" in m for m in messages), messages
    assert any("skipped 3 of 7 files" in m for m in messages), messages
    assert len(ds) == 4


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("cache", [True, False])
def test_a_fifo_in_a_class_folder_is_skipped_with_a_warning(class_folder, tmp_path, cache):
    from helpers import call_unblocking_fifos

    fifo = class_folder / "dogs" / "nested" / "x.png"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    with pytest.warns(UserWarning, match="skipped") as record:
        ds = call_unblocking_fifos(lambda: load_image_folder(class_folder, size=8, cache=cache,
                                                             cache_dir=tmp_path / "cache"), [fifo])
    assert any("x.png" in str(w.message) and "FIFO" in str(w.message) for w in record)
    assert len(ds) == 4


def test_kaggle_layout_warns_about_dangling_links_and_fifos(tmp_path):
    root = tmp_path / "k"
    for i in range(2):
        save_rgb(root / f"dog.{i}.jpg", (0, 0, 0))
        save_rgb(root / f"cat.{i}.jpg", (255, 255, 255))
    (root / "cat.7.jpg").symlink_to(tmp_path / "nowhere.jpg")
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "dog.8.jpg")
    with pytest.warns(UserWarning, match="skipped") as record:
        ds = load_image_folder(root, size=6, cache=False)
    messages = [str(w.message) for w in record]
    assert any("cat.7.jpg" in m and "dangling symbolic link" in m for m in messages), messages
    assert not hasattr(os, "mkfifo") or any("dog.8.jpg" in m and "FIFO" in m for m in messages), messages
    assert len(ds) == 4


def test_nan_and_oversized_images_in_a_folder_are_skipped(class_folder, tmp_path):
    from helpers import huge_png

    nan = np.full((8, 8), np.nan, np.float32)
    Image.fromarray(nan).save(class_folder / "dogs" / "nan.tif")
    huge_png(class_folder / "cats" / "huge.png", 8000, 5001)
    with pytest.warns(UserWarning, match="skipped") as record:
        ds = load_image_folder(class_folder, size=8, cache_dir=tmp_path / "cache")
    messages = [str(w.message) for w in record]
    assert any("nan.tif" in m and "NaN" in m for m in messages), messages
    assert any("huge.png" in m and "40,000,000" in m for m in messages), messages
    assert len(ds) == 4
    assert np.isfinite(ds.images).all()
