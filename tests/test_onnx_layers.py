"""ONNX export of models built with the PyTorch-style layers (batch norm, transposed convolution,
GELU, ...) and of the newer primitives: onnxruntime gives our outputs at several batch sizes, and
the file loads back to the same outputs."""
import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tinygrad_np as tg  # noqa: E402

F = tg.nn.functional


class Net(tg.nn.Module):
    """conv + batch norm + relu + max pool, transposed conv up, elementwise mix, linear."""

    def __init__(self):
        super().__init__()
        self.conv = tg.nn.Conv2d(1, 4, 3, padding=1, rng=0)
        self.bn = tg.nn.BatchNorm2d(4)
        self.up = tg.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, rng=1)
        self.fc = tg.nn.Linear(2 * 8 * 8, 3, rng=2)

    def forward(self, x):
        h = tg.max_pool2d(self.bn(self.conv(x)).relu(), 2)
        h = self.up(h)
        h = F.gelu(h) + tg.maximum(h, 0.1 * h) + h.sin() + h.cos() + (h * h).log1p() + h.expm1().sign() + h.tril()
        return self.fc(h.flatten(1))


def test_a_batch_norm_and_transposed_conv_model_runs_in_onnxruntime_and_loads_back(tmp_path):
    net = Net()
    rng = np.random.default_rng(0)
    net.train()
    for _ in range(3):  # running statistics away from their start
        net(tg.Tensor(rng.standard_normal((4, 1, 8, 8))))
    net.eval()
    path = tmp_path / "net.onnx"
    tg.onnx.export(net, tg.Tensor(rng.standard_normal((3, 1, 8, 8))), path)
    session = ort.InferenceSession(str(path))
    loaded = tg.onnx.load(path)
    for n in (1, 3, 8):
        x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
        ours = net(tg.Tensor(x)).data
        (theirs,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(loaded(tg.Tensor(x)).data, ours, rtol=1e-5, atol=1e-5)
