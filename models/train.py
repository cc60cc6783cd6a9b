"""Training loop, evaluation and checkpoints of `ZhangCNN`.

A checkpoint is one .npz written by `tg.save` (atomically: temporary file, then rename) after
every epoch:

    {"format": "zhang_cnn.checkpoint", "version": 1, "epoch": epochs completed,
     "model": model.state_dict(), "optimizer": optimizer.state_dict(), "config": TrainConfig,
     "class_names": [...], "data_fingerprint": sha256 of the images, "history": per-epoch curves}

Exact resume needs no saved random state: the split is drawn from `seed`, the initial weights
from `seed`, and the shuffle of epoch e from `np.random.default_rng([seed, e])`, so a run
resumed after epoch e repeats exactly what the uninterrupted run would have done.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_np as tg
from tinygrad_np import data as tgdata

from .zhang_cnn import INPUT_SIZE, LOSSES, ZhangCNN

CHECKPOINT_FORMAT = "zhang_cnn.checkpoint"
CHECKPOINT_VERSION = 1
OPTIMIZERS = ("adam", "sgd")
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
EVAL_BATCH = 256


@dataclass
class TrainConfig:
    """Everything that determines a training run (the defaults reach >= 90% on the built-in faces)."""
    data: str | None = None          # a folder of images; None = built-in faces (skimage lfw_subset)
    epochs: int = 20
    batch_size: int = 16
    lr: float = 3e-3
    optimizer: str = "adam"             # "adam" or "sgd" (momentum 0.9)
    loss: str = "mse"                   # "mse" (0.5 * sum of squares) or "ce" (softmax cross-entropy)
    seed: int = 0
    val_fraction: float = 0.2

    def validate(self) -> TrainConfig:
        """Raise ValueError naming the first invalid field; returns self."""
        if self.data is not None and not isinstance(self.data, str):
            raise ValueError(f"data must be a folder name or None, got {self.data!r}")
        for name in ("epochs", "batch_size", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if name == "seed" else 1):
                low = "a non-negative" if name == "seed" else "a positive"
                raise ValueError(f"{name} must be {low} integer, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")
        return self


# ------------------------------------------------------------------------ data
def load_dataset(data: str | None) -> tgdata.ImageDataset:
    """The built-in faces (data=None) or a folder of images, 50x50 grayscale, exactly 2 classes."""
    ds = tgdata.load_builtin_faces(INPUT_SIZE) if data is None else tgdata.load_image_folder(data, INPUT_SIZE)
    if len(ds.class_names) != 2:
        raise ValueError(f"the network has 2 outputs but {data!r} has {len(ds.class_names)} classes: "
                         f"{ds.class_names}")
    return ds


def fingerprint(ds: tgdata.ImageDataset) -> str:
    """sha256 of the images and labels, to check that a resumed run sees the same data."""
    h = hashlib.sha256(np.ascontiguousarray(ds.images).tobytes())
    h.update(np.ascontiguousarray(ds.labels).tobytes())
    return h.hexdigest()


def split(ds: tgdata.ImageDataset, cfg: TrainConfig) -> tuple[tgdata.ImageDataset, tgdata.ImageDataset]:
    """The seeded, stratified (train, validation) split of a config."""
    return tgdata.train_val_split(ds, cfg.val_fraction, seed=cfg.seed)


def make_optimizer(cfg: TrainConfig, params: list[tg.nn.Parameter]) -> tg.optim.Optimizer:
    """Adam(lr) or SGD(lr, momentum=0.9) over params."""
    if cfg.optimizer == "adam":
        return tg.optim.Adam(params, lr=cfg.lr)
    return tg.optim.SGD(params, lr=cfg.lr, momentum=0.9)


# ------------------------------------------------------------------ evaluation
def evaluate_arrays(model: ZhangCNN, x: np.ndarray, labels: np.ndarray, loss: str = "mse") -> dict[str, Any]:
    """Loss, accuracy, n and the 2x2 confusion matrix (rows: true class, columns: predicted) on
    standardised images x (N, 1, 50, 50); also returns the outputs (N, 2)."""
    if len(x) == 0:
        raise ValueError("evaluate: no images to evaluate")
    total, outputs = 0.0, []
    with tg.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            xb, yb = x[start:start + EVAL_BATCH], labels[start:start + EVAL_BATCH]
            value, out = model.loss(xb, yb, loss)
            total += value.item() * len(xb)
            outputs.append(out.data)
    out = np.concatenate(outputs)                                     # (N, 2)
    pred = out.argmax(axis=1)
    confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(confusion, (labels, pred), 1)
    return {"loss": total / len(x), "accuracy": float((pred == labels).mean()), "n": int(len(x)),
            "confusion": confusion, "outputs": out}


def train_epoch(model: ZhangCNN, opt: tg.optim.Optimizer, x: np.ndarray, labels: np.ndarray,
                cfg: TrainConfig, epoch: int, progress: bool = True) -> tuple[float, float]:
    """One pass over shuffled batches (order from default_rng([seed, epoch])); (mean loss, accuracy)."""
    from tqdm import tqdm

    model.train()
    rng = np.random.default_rng([cfg.seed, epoch])
    n_batches = -(-len(x) // cfg.batch_size)
    total = correct = seen = 0.0
    bar = tqdm(total=n_batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, disable=not progress,
               unit="batch")
    for xb, yb in tgdata.iterate_batches(x, labels, cfg.batch_size, rng=rng):
        opt.zero_grad()
        value, out = model.loss(xb, yb, cfg.loss)
        value.backward()
        opt.step()
        total += value.item() * len(xb)
        correct += float((out.data.argmax(axis=1) == yb).sum())
        seen += len(xb)
        bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
        bar.update(1)
    bar.close()
    return total / seen, correct / seen


# ----------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, model: ZhangCNN, opt: tg.optim.Optimizer, cfg: TrainConfig, epoch: int,
                    history: dict[str, list[float]], class_names: list[str], data_fingerprint: str) -> None:
    """Write the checkpoint of a run after `epoch` completed epochs (atomically, via tg.save)."""
    tg.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "epoch": int(epoch),
             "model": model.state_dict(), "optimizer": opt.state_dict(), "config": dataclasses.asdict(cfg),
             "class_names": list(class_names), "data_fingerprint": data_fingerprint,
             "history": {k: [float(v) for v in history[k]] for k in HISTORY_KEYS}}, path)


#: Largest checkpoint `load_checkpoint` reads (its arrays in total): the network and its optimizer
#: state take about 50 KB, so anything near this is not a checkpoint of this program.
CHECKPOINT_MAX_BYTES = 64 * 2**20


def _non_finite(tree: Any, prefix: str = "") -> tuple[str, int] | None:
    """(key, count) of the first array or float in a nested dict that holds NaN or Inf."""
    for key, value in tree.items():
        if isinstance(value, dict):
            found = _non_finite(value, f"{prefix}{key}/")
            if found:
                return found
        elif isinstance(value, (float, np.ndarray, np.floating)) and np.asarray(value).dtype.kind in "fc":
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            if bad:
                return prefix + key, bad
    return None


def _check_entries(ckpt: dict[str, Any], where: str) -> None:
    """ValueError naming the checkpoint for entries of the wrong type and for NaN or Inf weights."""
    version = ckpt.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"checkpoint {where} has an invalid version {version!r} (expected an integer)")
    if version > CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint {where} has version {version}, newer than this program's {CHECKPOINT_VERSION}")
    missing = [k for k in ("epoch", "model", "optimizer", "config", "class_names", "history") if k not in ckpt]
    if missing:
        raise ValueError(f"checkpoint {where} lacks the entries {missing}")
    epoch, names, fp, history = ckpt["epoch"], ckpt["class_names"], ckpt.get("data_fingerprint", ""), ckpt["history"]
    problems = []
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        problems.append(f"epoch {epoch!r} is not a non-negative integer")
    problems += [f"{k!r} is a {type(ckpt[k]).__name__}, not a dict"
                 for k in ("model", "optimizer", "config", "history") if not isinstance(ckpt[k], dict)]
    if not (isinstance(names, list) and len(names) == 2 and all(isinstance(n, str) for n in names)):
        problems.append(f"class_names {names!r} is not a list of 2 names")
    if not isinstance(fp, str):
        problems.append(f"data_fingerprint {fp!r} is not a str")
    if isinstance(history, dict):
        number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
        problems += [f"history {k!r} is not a list of numbers" for k in HISTORY_KEYS
                     if not (isinstance(history.get(k), list) and all(map(number, history[k])))]
    if isinstance(ckpt["model"], dict):
        problems += [f"parameter {k!r} is not an array" for k, v in ckpt["model"].items()
                     if not isinstance(v, np.ndarray)]
    if problems:
        raise ValueError(f"checkpoint {where} is malformed: " + "; ".join(problems))
    for section, what in (("model", "parameter"), ("optimizer", "optimizer entry")):
        found = _non_finite(ckpt[section])
        if found:
            raise ValueError(f"checkpoint {where}: {what} {found[0]!r} holds {found[1]} non-finite value(s) "
                             "(NaN or Inf); the run that wrote it diverged, use an earlier checkpoint")


def load_checkpoint(path: Any) -> dict[str, Any]:
    """Read and check a checkpoint: FileNotFoundError or ValueError naming the file and what is wrong.

    Reading is bounded: the network's parameters must have their shapes and all arrays together
    at most `CHECKPOINT_MAX_BYTES`, checked from the file's headers before any data is read.
    Parameters or optimizer state holding NaN or Inf are refused.
    """
    path = Path(path)
    where = repr(str(path))
    if path.is_dir():
        raise ValueError(f"checkpoint {where} is a directory, not a checkpoint file")
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {where} does not exist")
    shapes = {f"model/{k}": v.shape for k, v in ZhangCNN(rng=0).state_dict().items()}
    ckpt = tg.load(path, max_bytes=CHECKPOINT_MAX_BYTES, shapes=shapes)
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{where} is not a zhang-cnn checkpoint (no format {CHECKPOINT_FORMAT!r}; "
                         f"top-level keys: {sorted(ckpt)})")
    _check_entries(ckpt, where)
    try:
        ckpt["config"] = TrainConfig(**ckpt["config"]).validate()
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint {where} has an invalid config: {e}") from None
    ckpt["path"] = str(path)
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any]) -> ZhangCNN:
    """A ZhangCNN holding the checkpoint's weights (ValueError naming any missing or mis-shaped key)."""
    model = ZhangCNN(rng=0)
    try:
        model.load_state_dict(ckpt["model"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint {ckpt.get('path', '')!r} does not fit the network: {e}") from None
    return model.eval()


# ------------------------------------------------------------------- training
def train(cfg: TrainConfig, out: Path, resume: dict[str, Any] | None = None, progress: bool = True,
          log: Callable[[str], None] = print) -> tuple[ZhangCNN, dict[str, list[float]]]:
    """Train (or continue `resume`, a loaded checkpoint) up to cfg.epochs, checkpointing to `out`
    after each epoch; returns the model and the per-epoch history."""
    cfg.validate()
    ds = load_dataset(cfg.data)
    fp = fingerprint(ds)
    train_ds, val_ds = split(ds, cfg)
    x_train, x_val = ZhangCNN.preprocess(train_ds.images), ZhangCNN.preprocess(val_ds.images)
    model = ZhangCNN(rng=cfg.seed)
    opt = make_optimizer(cfg, model.parameters())
    history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
    start = 0
    if resume is not None:
        if resume.get("data_fingerprint") != fp or list(resume["class_names"]) != ds.class_names:
            raise ValueError(f"cannot resume {resume.get('path', '')!r}: the images of "
                             f"{cfg.data or 'the built-in faces'} differ from those it was trained on")
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        start = int(resume["epoch"])
        history = {k: list(resume["history"][k]) for k in HISTORY_KEYS}
        log(f"resuming {resume.get('path', '')} after epoch {start}")
    log(f"{len(train_ds)} training and {len(val_ds)} validation images, classes {ds.class_names}; "
        f"{cfg.optimizer} lr={cfg.lr}, batch {cfg.batch_size}, loss {cfg.loss}, seed {cfg.seed}")
    out.parent.mkdir(parents=True, exist_ok=True)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        train_loss, train_acc = train_epoch(model, opt, x_train, train_ds.labels, cfg, epoch, progress)
        model.eval()
        val = evaluate_arrays(model, x_val, val_ds.labels, cfg.loss)
        for k, v in zip(HISTORY_KEYS, (train_loss, train_acc, val["loss"], val["accuracy"]), strict=False):
            history[k].append(v)
        save_checkpoint(out, model, opt, cfg, epoch + 1, history, ds.class_names, fp)
        log(f"epoch {epoch + 1:>3}/{cfg.epochs}  train loss {train_loss:.4f} acc {train_acc:.3f}  "
            f"val loss {val['loss']:.4f} acc {val['accuracy']:.3f}  ({time.perf_counter() - t0:.1f} s)")
    return model, history


def plot_curves(history: dict[str, list[float]], path: Path, title: str = "") -> None:
    """Loss and accuracy per epoch (train and validation) as a two-panel PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, history[f"train_{key}"], "o-", ms=3, label="train")
        ax.plot(epochs, history[f"val_{key}"], "s-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.set_ylim(0, 1.02)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
