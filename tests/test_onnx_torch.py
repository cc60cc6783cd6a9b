"""tg.onnx.load on models written by torch.onnx.export: PyTorch's outputs at any batch size, and
after a loss and backward PyTorch's parameter and input gradients (BatchNorm in eval mode, its
running statistics constants); fine-tuning lowers the loss."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

import tinygrad_np as tg  # noqa: E402
from tinygrad_np import functional as F  # noqa: E402

tnn = torch.nn


class View(tnn.Module):
    """x.view(x.size(0), -1): the legacy exporter writes a Shape/Gather/Unsqueeze/Concat chain."""

    def forward(self, x):
        return x.view(x.size(0), -1)


def _randomise_batchnorm(model) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_()
                m.bias.normal_()


def conv_bn_net():
    """conv + batchnorm + relu + maxpool + flatten + linear; input (N, 3, 8, 8)."""
    return tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(), tnn.MaxPool2d(2),
                          View(), tnn.Linear(8 * 4 * 4, 5))


def grouped_net():
    """Grouped, dilated, asymmetric-padded conv, padded average pooling, a depthwise-style conv,
    global pooling and log-softmax; input (N, 4, 9, 9)."""
    return tnn.Sequential(
        tnn.Conv2d(4, 6, 3, groups=2, padding=(1, 2), dilation=(1, 2)), tnn.BatchNorm2d(6), tnn.LeakyReLU(0.1),
        tnn.AvgPool2d(3, stride=2, padding=1), tnn.Conv2d(6, 6, 2, groups=3, stride=2, bias=False), tnn.Tanh(),
        tnn.MaxPool2d(2, stride=1, padding=1, ceil_mode=True), tnn.AdaptiveAvgPool2d(1), tnn.Flatten(),
        tnn.Linear(6, 3), tnn.LogSoftmax(1))


class Mix(tnn.Module):
    """Elementwise ops PyTorch's exporters write as Erf/Gelu, Sin, Max and Where."""

    def forward(self, x):
        return torch.nn.functional.gelu(x) + torch.sin(x) + torch.maximum(x, 0.2 * x) + torch.where(
            torch.ones_like(x, dtype=torch.bool).tril(), x, -x)


def autoencoder_net():
    """A conv autoencoder: strided conv down, transposed conv (output_padding) up; input (N, 2, 8, 8)."""
    return tnn.Sequential(tnn.Conv2d(2, 4, 3, stride=2, padding=1), tnn.BatchNorm2d(4), Mix(),
                          tnn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), tnn.Sigmoid())


NETS = {"conv_bn": (conv_bn_net, (3, 8, 8)), "grouped": (grouped_net, (4, 9, 9)),
        "autoencoder": (autoencoder_net, (2, 8, 8))}


def export_torch(model, shape, path, exporter: str):
    x = torch.randn((2,) + shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "legacy":  # TorchScript exporter; no constant folding keeps BatchNorm apart
            torch.onnx.export(model, (x,), str(path), dynamo=False, do_constant_folding=False, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
        else:  # torch.export-based exporter (needs onnxscript); optimize=False keeps BatchNorm apart
            pytest.importorskip("onnxscript")
            torch.onnx.export(model, (x,), str(path), dynamo=True, optimize=False, verbose=False,
                              dynamic_shapes=({0: torch.export.Dim("n")},))


@pytest.fixture(params=["legacy", "dynamo"])
def exporter(request):
    return request.param


@pytest.mark.parametrize("net", sorted(NETS))
def test_pytorch_model_gives_pytorch_outputs_and_gradients(tmp_path, net, exporter):
    build, shape = NETS[net]
    torch.manual_seed(0)
    model = build()
    _randomise_batchnorm(model)
    check_against_torch(model.eval(), shape, tmp_path / f"{net}.onnx", exporter)


def test_batchnorm_at_initialisation(tmp_path):
    """Fresh BatchNorm: running_var equals weight (ones) and running_mean bias (zeros), and the
    TorchScript exporter writes them as Identity of those parameters; the statistics stay constant."""
    torch.manual_seed(0)
    check_against_torch(conv_bn_net().eval(), (3, 8, 8), tmp_path / "fresh.onnx", "legacy")


def check_against_torch(model, shape, path, exporter: str) -> None:
    """Export with PyTorch, load; outputs at several batch sizes and all gradients agree."""
    export_torch(model, shape, path, exporter)
    loaded = tg.onnx.load(path)
    by_onnx_name = {loaded.onnx_names[n]: p for n, p in loaded.named_parameters()}
    assert set(by_onnx_name) == {n for n, _ in model.named_parameters()}
    assert {n for n in loaded.constants if "running" in n} <= {n for n, _ in model.named_buffers()}

    for n in (1, 3, 6):
        x = torch.randn((n,) + shape)
        with torch.no_grad():
            want = model(x).numpy()
        np.testing.assert_allclose(loaded(x.numpy()).data, want, rtol=1e-5, atol=1e-5)

    x = torch.randn((4,) + shape, requires_grad=True)
    out = model(x)
    v = torch.randn(out.shape)
    (out * v).sum().backward()
    xt = tg.Tensor(x.detach().numpy(), requires_grad=True)
    (loaded(xt) * v.numpy()).sum().backward()
    np.testing.assert_allclose(xt.grad, x.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(by_onnx_name[name].grad, p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_fine_tune_a_pytorch_model(tmp_path):
    torch.manual_seed(1)
    model = conv_bn_net()
    _randomise_batchnorm(model)
    export_torch(model.eval(), (3, 8, 8), tmp_path / "net.onnx", "legacy")
    loaded = tg.onnx.load(tmp_path / "net.onnx")
    stats = {k: v.copy() for k, v in loaded.constants.items()}
    assert "conv2d" in tg.viz.to_dot(loaded(np.zeros((1, 3, 8, 8), np.float32)))
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((16, 3, 8, 8)).astype(np.float32), rng.integers(0, 5, 16)
    opt = tg.optim.SGD(loaded.parameters(), lr=0.01)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(loaded(x), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    for k, v in loaded.constants.items():  # running statistics are constants: never trained
        np.testing.assert_array_equal(v, stats[k])


def test_docs_page_runs(tmp_path, monkeypatch):
    """The Python blocks of docs/onnx.md run as written (export, onnxruntime, import and fine-tune)."""
    pytest.importorskip("onnxruntime")
    page = Path(__file__).resolve().parent.parent / "docs" / "onnx.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile("\n".join(blocks), str(page), "exec"), namespace)
    assert namespace["logits"].shape == (8, 10)
    np.testing.assert_allclose(namespace["logits"], namespace["lenet"](namespace["images"]).data, rtol=1e-5, atol=1e-5)
    assert [n for n, _ in namespace["model"].named_parameters()][:3] == ["0.weight", "0.bias", "1.weight"]
