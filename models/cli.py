"""The `zhang-cnn` command: train, evaluate, predict, features, graph, export.

Bad input (missing, mis-shaped or non-finite checkpoint, unreadable image, empty folder, one
class, bad numbers, an output path that cannot be written, a full disk) prints
`zhang-cnn: error: ...` on stderr and returns exit code 2, without a traceback. Output paths are
checked before any work (models/cli_checks.py); JSON output is strict (NaN and Inf as null).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_np as tg
from tinygrad_np import data as tgdata

from . import train as T
from .cli_checks import (
    CURVE_FORMATS,
    GRAPH_FORMATS,
    CLIError,
    check_output_dir,
    check_output_file,
    file_state,
    format_of,
    interrupt_message,
    json_text,
)
from .zhang_cnn import INPUT_SIZE, ZhangCNN

PROG = "zhang-cnn"
DEFAULTS = T.TrainConfig()


def _checked(convert: Callable[[str], Any], description: str, accept: Callable[[Any], bool]) -> Callable[[str], Any]:
    """An argparse `type=` that converts the text and rejects values outside `description`."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {description}, got {text}")
        return value
    return parse


_positive_int = _checked(int, "a positive integer", lambda v: v >= 1)
_non_negative_int = _checked(int, "a non-negative integer", lambda v: v >= 0)
_positive_float = _checked(float, "a finite number > 0", lambda v: bool(np.isfinite(v)) and v > 0)
_fraction = _checked(float, "a number in (0, 1)", lambda v: 0 < v < 1)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `zhang-cnn` with its six subcommands."""
    p = argparse.ArgumentParser(prog=PROG, description="Train and inspect the CNN of models/zhang_cnn.py "
                                "(50x50 grayscale input, two classes).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train the network; checkpoint after every epoch",
                       description="Train on the built-in faces (default) or a folder of images. Options left "
                       "out on --resume are taken from the checkpoint; --epochs sets the total to reach.")
    t.add_argument("--data", metavar="DIR", help="image folder: one subfolder per class, or Kaggle-style "
                   "files named cat.0.jpg / dog.1.jpg (default: built-in faces, skimage lfw_subset)")
    t.add_argument("--epochs", type=_positive_int, help=f"total epochs (default {DEFAULTS.epochs})")
    t.add_argument("--batch-size", type=_positive_int, help=f"batch size (default {DEFAULTS.batch_size})")
    t.add_argument("--lr", type=_positive_float, help=f"learning rate (default {DEFAULTS.lr})")
    t.add_argument("--optimizer", choices=T.OPTIMIZERS, help=f"default {DEFAULTS.optimizer}; sgd uses momentum 0.9")
    t.add_argument("--loss", choices=("mse", "ce"), help="mse: 0.5 * sum of squared errors of the 2 sigmoid "
                   "outputs (default); ce: softmax cross-entropy of the fc output")
    t.add_argument("--seed", type=_non_negative_int,
                   help=f"seed of init, split and shuffling (default {DEFAULTS.seed})")
    t.add_argument("--val-fraction", type=_fraction, help=f"validation share (default {DEFAULTS.val_fraction})")
    t.add_argument("--out", metavar="CKPT", help="checkpoint to write each epoch (default runs/zhang_cnn.npz; "
                   "with --resume, the resumed file); an existing file is refused without --overwrite")
    t.add_argument("--overwrite", action="store_true", help="replace an existing --out checkpoint")
    t.add_argument("--resume", metavar="CKPT", help="continue the run saved in CKPT")
    t.add_argument("--curves", metavar="PNG", help="training-curve picture, .png, .svg or .pdf "
                   "(default: CKPT's name + _curves.png)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="loss, accuracy and confusion matrix of a checkpoint")
    e.add_argument("--checkpoint", required=True, metavar="CKPT")
    e.add_argument("--data", metavar="DIR", help="image folder (default: the checkpoint's training data)")
    e.add_argument("--split", choices=("val", "train", "all"),
                   help="which images: default 'val' (the checkpoint's validation split) without --data, "
                   "'all' with --data")
    e.add_argument("--json", action="store_true", help="print one JSON object")

    pr = sub.add_parser("predict", help="label and the two outputs for each image")
    pr.add_argument("--checkpoint", required=True, metavar="CKPT")
    pr.add_argument("images", nargs="+", metavar="IMAGE")
    pr.add_argument("--json", action="store_true", help="print one JSON list")

    f = sub.add_parser("features", help="PNG grids of every layer's maps for one image, and the filters")
    f.add_argument("--checkpoint", required=True, metavar="CKPT")
    f.add_argument("--image", metavar="PATH", help="image file (default: the built-in cat, skimage chelsea)")
    f.add_argument("--out", required=True, metavar="DIR")

    g = sub.add_parser("graph", help="draw the compute graph of one forward pass and loss")
    g.add_argument("--out", required=True, metavar="FILE", help="FILE.svg, .png or .pdf (its DOT source is "
                   "written next to it as FILE.dot), or FILE.dot for the DOT source only")
    g.add_argument("--checkpoint", metavar="CKPT", help="weights to show (default: seed-0 initialisation)")
    g.add_argument("--loss", choices=("mse", "ce"), default="mse")

    x = sub.add_parser("export", help="write a checkpoint's network as an ONNX model",
                       description="Write the network as ONNX: input 'image' (N, 1, 50, 50), each image "
                       "standardised to mean 0 and std 1 beforehand; output 'scores' (N, 2). Needs "
                       "pip install \"tinygrad_np[onnx]\".")
    x.add_argument("--checkpoint", required=True, metavar="CKPT")
    x.add_argument("--out", required=True, metavar="FILE", help="the .onnx file to write")
    x.add_argument("--opset", type=_positive_int, help="ONNX opset (default: tg.onnx.DEFAULT_OPSET)")
    x.add_argument("--static-batch", action="store_true", help="fix the batch size to 1 instead of a "
                   "dynamic batch axis")
    return p


# -------------------------------------------------------------------- commands
def _train_config(args: argparse.Namespace, resume: dict | None) -> T.TrainConfig:
    given = {"data": str(Path(args.data).expanduser().resolve()) if args.data else None,
             "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer,
             "loss": args.loss, "seed": args.seed, "val_fraction": args.val_fraction}
    given = {k: v for k, v in given.items() if v is not None}
    if resume is None:
        return T.TrainConfig(**given).validate()
    cfg = resume["config"]
    for key, value in given.items():
        if key != "epochs" and value != getattr(cfg, key):
            raise CLIError(f"--{key.replace('_', '-')} {value} differs from the checkpoint's {getattr(cfg, key)!r}; "
                           "a resumed run keeps its configuration (only --epochs may change)")
    if "epochs" in given:
        if given["epochs"] < int(resume["epoch"]):
            raise CLIError(f"--epochs {given['epochs']} is fewer than the {resume['epoch']} epochs already in "
                           f"{resume['path']!r}")
        cfg.epochs = given["epochs"]
    return cfg


def cmd_train(args: argparse.Namespace) -> int:
    """`train`: fit (or resume) and write the checkpoint and the curves."""
    resume = T.load_checkpoint(args.resume) if args.resume else None
    cfg = _train_config(args, resume)
    out = Path(args.out or args.resume or "runs/zhang_cnn.npz")
    if resume is not None and int(resume["epoch"]) >= cfg.epochs:
        print(f"{resume['path']} already has {resume['epoch']} of {cfg.epochs} epochs; nothing to do "
              "(raise --epochs to continue)")
        return 0
    resumes_out = resume is not None and out.exists() and out.resolve() == Path(resume["path"]).resolve()
    out = check_output_file(out, "checkpoint", overwrite=args.overwrite or resumes_out, hint=" (from another "
                            f"run?); pass --overwrite to replace it, or --resume {out} to continue it")
    curves = check_output_file(args.curves or out.with_name(out.stem + "_curves.png"), "training curves",
                               in_place=True)
    format_of(curves, CURVE_FORMATS, "--curves")
    before, t0 = file_state(out), time.perf_counter()
    try:
        _, history = T.train(cfg, out, resume, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("\n" + interrupt_message(PROG, out, before, resumes_out), file=sys.stderr)
        return 130
    except OSError as e:
        if e.filename is None or Path(e.filename) not in (out, out.parent):
            raise  # not about the checkpoint (e.g. an unreadable data folder): reported as it is
        kept = ("the last completed epoch is saved there" if file_state(out) not in (None, before) else
                "the file is unchanged" if before is not None else "nothing was saved")
        raise CLIError(f"cannot write checkpoint {out}: {e.strerror or e}; {kept}") from None
    try:
        T.plot_curves(history, curves, title=f"{cfg.data or 'built-in faces'}: {cfg.optimizer} lr={cfg.lr}, "
                      f"batch {cfg.batch_size}, loss {cfg.loss}, seed {cfg.seed}")
    except OSError as e:
        raise CLIError(f"cannot write training curves {str(curves)!r}: {e.strerror or e}; the checkpoint "
                       f"{out} is saved") from None
    print(f"final validation accuracy {history['val_acc'][-1]:.3f}, loss {history['val_loss'][-1]:.4f} "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"checkpoint: {out}\ntraining curves: {curves}")
    return 0


def _eval_dataset(args: argparse.Namespace, ckpt: dict) -> tgdata.ImageDataset:
    cfg: T.TrainConfig = ckpt["config"]
    split = args.split or ("all" if args.data else "val")
    ds = T.load_dataset(args.data if args.data else cfg.data)
    if list(ds.class_names) != list(ckpt["class_names"]):
        warnings.warn(f"the classes {ds.class_names} of the data differ from the checkpoint's "
                      f"{list(ckpt['class_names'])}; matching them by position", stacklevel=2)
    if split == "all":
        return ds
    train_ds, val_ds = T.split(ds, cfg)
    return val_ds if split == "val" else train_ds


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`evaluate`: loss, accuracy and confusion matrix, as text or one JSON object."""
    ckpt = T.load_checkpoint(args.checkpoint)
    model = T.model_from_checkpoint(ckpt)
    ds = _eval_dataset(args, ckpt)
    loss = ckpt["config"].loss
    r = T.evaluate_arrays(model, ZhangCNN.preprocess(ds.images), ds.labels, loss)
    names = list(ckpt["class_names"])
    if args.json:
        print(json_text({"accuracy": r["accuracy"], "loss": r["loss"], "loss_kind": loss, "n": r["n"],
                         "class_names": names, "confusion_matrix": r["confusion"].tolist(),
                         "checkpoint": str(args.checkpoint), "epoch": int(ckpt["epoch"])}))
        return 0
    print(f"{r['n']} images: accuracy {r['accuracy']:.4f}, {loss} loss {r['loss']:.4f}")
    width = max(len(n) for n in names) + 2
    print("confusion matrix (rows: true, columns: predicted)")
    print(" " * width + "".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, r["confusion"], strict=False):
        print(f"{name:<{width}}" + "".join(f"{v:>{width}}" for v in row))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """`predict`: label and outputs per image; exit 2 if any image could not be read."""
    ckpt = T.load_checkpoint(args.checkpoint)
    model, names = T.model_from_checkpoint(ckpt), list(ckpt["class_names"])
    images, paths, failed = [], [], []
    for path in args.images:
        try:
            images.append(tgdata.load_image(path, INPUT_SIZE))
            paths.append(path)
        except FileNotFoundError:
            failed.append(f"image {path!r} does not exist")
        except IsADirectoryError:
            failed.append(f"image {path!r} is a directory")
        except (ValueError, OSError) as e:
            failed.append(str(e) if path in str(e) else f"cannot read image {path!r}: {e}")
    results = []
    if images:
        with tg.no_grad():
            out = model(ZhangCNN.preprocess(np.stack(images)[:, None])).data      # (N, 2)
        results = [{"image": p, "label": names[int(o.argmax())], "outputs": [float(v) for v in o]}
                   for p, o in zip(paths, out, strict=False)]
    if args.json:
        print(json_text(results))
    else:
        for r in results:
            scores = ", ".join(f"{n} {v:.4f}" for n, v in zip(names, r["outputs"], strict=False))
            print(f"{r['image']}: {r['label']}  ({scores})")
    for message in failed:
        print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2 if failed else 0


def cmd_features(args: argparse.Namespace) -> int:
    """`features`: PNG grids of the maps of one image and of the filters."""
    from .features import save_features
    out = check_output_dir(args.out, "--out folder")
    ckpt = T.load_checkpoint(args.checkpoint)
    model = T.model_from_checkpoint(ckpt)
    if args.image:
        if Path(args.image).is_dir():
            raise CLIError(f"image {args.image!r} is a directory")
        if not Path(args.image).exists():
            raise CLIError(f"image {args.image!r} does not exist")
        image, name = tgdata.load_image(args.image, INPUT_SIZE), Path(args.image).name
    else:
        image, name = tgdata.load_builtin_cat(INPUT_SIZE), "built-in cat (skimage chelsea)"
    written = save_features(model, image, out, name, list(ckpt["class_names"]))
    print(f"wrote {len(written)} pictures to {args.out}:")
    for path in written:
        print(f"  {path}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    """`graph`: draw one forward pass, loss and backward with tg.viz.draw (or write its DOT source)."""
    out = check_output_file(args.out, "graph")
    fmt = format_of(out, GRAPH_FORMATS, "graph")
    dot = check_output_file(out.with_suffix(".dot"), "graph source")
    if args.checkpoint:
        model = T.model_from_checkpoint(T.load_checkpoint(args.checkpoint))
    else:
        model = ZhangCNN(rng=0)
    x = ZhangCNN.preprocess(tgdata.load_builtin_cat(INPUT_SIZE)[None, None])   # (1, 1, 50, 50)
    x = tg.Tensor(x, name="image")
    loss, _ = model.loss(x, np.array([0]), args.loss)
    loss.name = f"{args.loss} loss"
    loss.backward(retain_graph=True)
    if fmt == "dot":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(tg.viz.to_dot(loss), encoding="utf-8")
        print(f"wrote the DOT source of the compute graph of one forward pass and {args.loss} loss to {out}")
        return 0
    try:
        tg.viz.draw(loss, out, format=fmt)
    except (RuntimeError, ImportError) as e:
        raise CLIError(str(e)) from None
    print(f"wrote the compute graph of one forward pass and {args.loss} loss to {out} (DOT source: {dot})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """`export`: the checkpoint's network as an ONNX file (tg.onnx.export)."""
    model = T.model_from_checkpoint(T.load_checkpoint(args.checkpoint))
    example = np.zeros((1, 1, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    try:
        tg.onnx.export(model, example, args.out, input_names=["image"], output_names=["scores"],
                       opset=args.opset, dynamic_batch=not args.static_batch)
    except ImportError as e:
        raise CLIError(str(e)) from None
    print(f"wrote {args.out}: input 'image' (N, 1, {INPUT_SIZE}, {INPUT_SIZE}), standardised per image; "
          "output 'scores' (N, 2)")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict,
            "features": cmd_features, "graph": cmd_graph, "export": cmd_export}


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `zhang-cnn` with argv (default sys.argv[1:]); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, message already printed)
        return int(e.code or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            return COMMANDS[args.command](args)
        except (CLIError, ValueError, OSError) as e:  # OSError: also a full disk, a read-only folder
            message = str(e).replace("\n", "\n  ")
            print(f"{PROG}: error: {message}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
