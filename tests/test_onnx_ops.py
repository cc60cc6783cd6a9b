"""tg.onnx.load, op by op: one-node (or few-node) graphs built with onnx.helper give onnxruntime's
outputs; the composite conv and pooling code has the finite-difference gradients."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tinygrad_np as tg  # noqa: E402
from tinygrad_np.onnx import composites as C  # noqa: E402
from tinygrad_np.testing import gradcheck  # noqa: E402

h = onnx.helper
FLOAT = onnx.TensorProto.FLOAT
rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def i64(*values):
    return np.array(values, dtype=np.int64)


def node(op, inputs, **attrs):
    return h.make_node(op, inputs, ["y"], **attrs)


# name: (nodes, graph inputs, initializers, output rank, opset)
CASES = {
    "conv_groups_dilation_asymmetric_pads": (
        [node("Conv", ["x", "w", "b"], group=3, dilations=[2, 1], pads=[1, 0, 2, 1], strides=[1, 2])],
        {"x": randn(2, 6, 9, 8)}, {"w": randn(6, 2, 3, 2), "b": randn(6)}, 4, 17),
    "conv_same_upper": ([node("Conv", ["x", "w"], auto_pad="SAME_UPPER", strides=[2, 2])],
                        {"x": randn(2, 3, 7, 8)}, {"w": randn(4, 3, 4, 3)}, 4, 17),
    "conv_same_lower": ([node("Conv", ["x", "w"], auto_pad="SAME_LOWER")],
                        {"x": randn(1, 2, 5, 6)}, {"w": randn(3, 2, 2, 2)}, 4, 17),
    "conv1d": ([node("Conv", ["x", "w"], pads=[2, 1], strides=[2], dilations=[2])],
               {"x": randn(2, 3, 11)}, {"w": randn(4, 3, 3)}, 3, 17),
    "maxpool_pads_ceil": ([node("MaxPool", ["x"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1],
                                ceil_mode=1)], {"x": randn(2, 3, 8, 7)}, {}, 4, 17),
    "maxpool1d": ([node("MaxPool", ["x"], kernel_shape=[3], strides=[2])], {"x": randn(2, 3, 9)}, {}, 3, 17),
    "avgpool_exclude_pad": ([node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 1], pads=[1, 1, 1, 1])],
                            {"x": randn(2, 2, 7, 6)}, {}, 4, 17),
    "avgpool_include_pad_ceil": ([node("AveragePool", ["x"], kernel_shape=[2, 3], strides=[2, 2], pads=[0, 1, 1, 1],
                                       count_include_pad=1, ceil_mode=1)], {"x": randn(1, 2, 7, 8)}, {}, 4, 17),
    "avgpool_same_upper": ([node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")],
                           {"x": randn(1, 2, 6, 7)}, {}, 4, 17),
    "global_pools": ([h.make_node("GlobalAveragePool", ["x"], ["a"]), h.make_node("GlobalMaxPool", ["x"], ["m"]),
                      node("Add", ["a", "m"])], {"x": randn(2, 3, 4, 5)}, {}, 4, 17),
    "gemm": ([node("Gemm", ["a", "b", "c"], transA=1, transB=1, alpha=0.5, beta=2.0)],
             {"a": randn(4, 3)}, {"b": randn(5, 4), "c": randn(5)}, 2, 17),
    "batchnorm_leakyrelu": ([h.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
                             node("LeakyRelu", ["n"], alpha=0.2)],
                            {"x": randn(2, 3, 4, 4)},
                            {"s": randn(3), "b": randn(3), "m": randn(3),
                             "v": rng.uniform(0.5, 2, 3).astype(np.float32)},
                            4, 15),
    "softmax_opset11_flattens": ([node("Softmax", ["x"], axis=1)], {"x": randn(2, 3, 4)}, {}, 3, 11),
    "logsoftmax": ([node("LogSoftmax", ["x"], axis=1)], {"x": randn(2, 3, 4)}, {}, 3, 17),
    "flatten_transpose": ([h.make_node("Flatten", ["x"], ["f"], axis=2), node("Transpose", ["f"], perm=[1, 0])],
                          {"x": randn(2, 3, 4, 5)}, {}, 2, 17),
    "reduce_mean_axes_attr": ([node("ReduceMean", ["x"], axes=[1, -1], keepdims=0)], {"x": randn(2, 3, 4)}, {}, 1, 17),
    "reduce_mean_axes_input": ([node("ReduceMean", ["x", "ax"], keepdims=1)], {"x": randn(2, 3, 4)},
                               {"ax": i64(0, 2)}, 3, 18),
    "reduce_sum_max": ([h.make_node("ReduceSum", ["x", "ax"], ["s"], keepdims=0),
                        h.make_node("ReduceMax", ["x"], ["m"], axes=[1], keepdims=0), node("Add", ["s", "m"])],
                       {"x": randn(2, 3, 4)}, {"ax": i64(1)}, 2, 17),
    "clip_inputs": ([node("Clip", ["x", "lo", "hi"])], {"x": randn(3, 4)},
                    {"lo": np.float32(-0.5), "hi": np.float32(0.7)}, 2, 13),
    "clip_min_only": ([node("Clip", ["x", "lo"])], {"x": randn(3, 4)}, {"lo": np.float32(0.1)}, 2, 13),
    "clip_attrs": ([node("Clip", ["x"], min=-0.2, max=0.3)], {"x": randn(3, 4)}, {}, 2, 6),
    "pad_constant": ([node("Pad", ["x", "p", "v"])], {"x": randn(2, 3)}, {"p": i64(0, 1, 2, 3), "v": np.float32(1.5)},
                     2, 13),
    "pad_axes": ([node("Pad", ["x", "p", "", "ax"])], {"x": randn(2, 3, 4)}, {"p": i64(1, 2), "ax": i64(-1)}, 3, 18),
    "slice_negative_steps": ([node("Slice", ["x", "s", "e", "a", "t"])], {"x": randn(5, 6, 7)},
                             {"s": i64(-1, 1), "e": i64(-2**63, 6), "a": i64(0, 2), "t": i64(-2, 2)}, 3, 13),
    "squeeze_unsqueeze_13": ([h.make_node("Unsqueeze", ["x", "a"], ["u"]), node("Squeeze", ["u", "b"])],
                             {"x": randn(3, 1, 4)}, {"a": i64(0, -1), "b": i64(2)}, 4, 13),
    "squeeze_unsqueeze_11": ([h.make_node("Unsqueeze", ["x"], ["u"], axes=[1]), node("Squeeze", ["u"])],
                             {"x": randn(3, 1, 4)}, {}, 2, 11),
    "shape_chain_flatten": (
        [h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "zero"], ["n"], axis=0),
         h.make_node("Unsqueeze", ["n", "ax"], ["n1"]), h.make_node("Div", ["n1", "two"], ["half"]),
         h.make_node("Mul", ["half", "two"], ["n2"]), h.make_node("Concat", ["n2", "minus1"], ["shape"], axis=0),
         node("Reshape", ["x", "shape"])],
        {"x": randn(4, 3, 2, 2)}, {"zero": i64(0).reshape(()), "ax": i64(0), "two": i64(2), "minus1": i64(-1)}, 2, 13),
    "gather_data": ([node("Gather", ["x", "i"], axis=1)], {"x": randn(2, 5, 3)}, {"i": i64(4, -1, 0, 0)}, 3, 13),
    "elementwise": ([h.make_node(op, ins, [out]) for op, ins, out in (
                         ("Sub", ["x", "c"], "a"), ("Div", ["a", "c"], "b"), ("Pow", ["c", "b"], "p"),
                         ("Abs", ["b"], "ab"), ("Sqrt", ["ab"], "r"), ("Exp", ["r"], "e"), ("Log", ["e"], "l"),
                         ("Neg", ["l"], "n"),
                         ("Sigmoid", ["n"], "s"), ("Tanh", ["p"], "t"), ("Softplus", ["t"], "sp"),
                         ("Mul", ["s", "sp"], "m"), ("Add", ["m", "r"], "q"), ("Relu", ["q"], "y"))],
                    {"x": randn(3, 4)}, {"c": rng.uniform(0.5, 2, 4).astype(np.float32)}, 2, 17),
    "matmul_batched": ([node("MatMul", ["x", "w"])], {"x": randn(2, 3, 4)}, {"w": randn(4, 5)}, 3, 17),
    "concat_constant_expand": ([h.make_node("Constant", [], ["k"], value=h.make_tensor("k", FLOAT, [1, 2], [1., 2.])),
                                h.make_node("Expand", ["k", "shape"], ["ke"]), node("Concat", ["x", "ke"], axis=1)],
                               {"x": randn(3, 4)}, {"shape": i64(3, 2)}, 2, 13),
    "constant_of_shape_cast": ([h.make_node("Shape", ["x"], ["s"]),
                                h.make_node("ConstantOfShape", ["s"], ["z"],
                                            value=h.make_tensor("v", FLOAT, [1], [0.5])),
                                h.make_node("Cast", ["x"], ["xd"], to=onnx.TensorProto.DOUBLE),
                                h.make_node("Cast", ["xd"], ["xf"], to=FLOAT),
                                h.make_node("CastLike", ["z", "x"], ["zl"]), node("Add", ["xf", "zl"])],
                               {"x": randn(2, 3)}, {}, 2, 15),
    "dropout_identity": ([h.make_node("Dropout", ["x"], ["d"]), node("Identity", ["d"])],
                         {"x": randn(2, 3)}, {}, 2, 13),
}


def make_model(nodes, inputs, inits, rank, opset):
    graph = h.make_graph(
        nodes, "case", [h.make_tensor_value_info(k, FLOAT, list(v.shape)) for k, v in inputs.items()],
        [h.make_tensor_value_info("y", FLOAT, [f"d{i}" for i in range(rank)])],
        [onnx.numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], ir_version=8)


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_onnxruntime(tmp_path, case):
    nodes, inputs, inits, rank, opset = CASES[case]
    path = tmp_path / f"{case}.onnx"
    onnx.save(make_model(nodes, inputs, inits, rank, opset), str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, inputs)
    got = tg.onnx.load(path)(*inputs.values())
    assert got.shape == want.shape
    np.testing.assert_allclose(got.data, want, rtol=1e-5, atol=1e-6)


def test_static_inputs_are_constants_and_data_initializers_parameters(tmp_path):
    nodes, inputs, inits, rank, opset = CASES["batchnorm_leakyrelu"]
    path = tmp_path / "bn.onnx"
    onnx.save(make_model(nodes, inputs, inits, rank, opset), str(path))
    loaded = tg.onnx.load(path)
    assert [n for n, _ in loaded.named_parameters()] == ["s", "b"] and sorted(loaded.constants) == ["m", "v"]


def test_names_are_sanitised_and_mapped_back(tmp_path):
    inits = {"layer.0.weight": randn(3, 4), "onnx::MatMul_7": randn(3, 4), "forward": randn(4),
             "layer.0": randn(4)}
    nodes = [h.make_node("Gemm", ["x", "layer.0.weight"], ["g1"], transB=1),
             h.make_node("MatMul", ["x", "onnx::MatMul_7"], ["g2"]), h.make_node("Add", ["g1", "g2"], ["g"]),
             h.make_node("Add", ["g", "forward"], ["a"]), node("Mul", ["a", "layer.0"])]
    path = tmp_path / "names.onnx"
    onnx.save(make_model(nodes, {"x": randn(2, 3)}, inits, 2, 17), str(path))
    loaded = tg.onnx.load(path)
    assert loaded.onnx_names == {"layer.0.weight": "layer.0.weight", "onnx__MatMul_7": "onnx::MatMul_7",
                                 "forward_": "forward", "layer.0_": "layer.0"}
    assert sorted(n for n, _ in loaded.named_parameters()) == sorted(loaded.onnx_names)
    assert callable(loaded.forward)


# -------------------------------------------------- gradients of the composites
def t64(*shape, low=-1.0, high=1.0):
    return tg.Tensor(rng.uniform(low, high, shape), dtype=np.float64, requires_grad=True)


@pytest.mark.parametrize(("group", "dilations", "pads"), [(1, (2, 1), (1, 0, 2, 1)), (2, (1, 1), (0, 1, 0, 1)),
                                                    (4, (2, 2), (1, 1, 1, 1))])
def test_grouped_dilated_conv_gradients(group, dilations, pads):
    x, w, b = t64(2, 4, 6, 5), t64(4, 4 // group, 2, 3), t64(4)
    assert gradcheck(lambda x, w, b: C.conv(x, w, b, (1, 2), pads, dilations, group), x, w, b)


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_padded_pooling_gradients(ceil_mode):
    x = tg.Tensor(rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0, requires_grad=True,
                  dtype=np.float64)  # distinct values: no ties at the max
    pads = (1, 0, 1, 1)
    assert gradcheck(lambda x: C.max_pool(x, (3, 2), (2, 2), pads, ceil_mode), x)
    for include in (False, True):
        assert gradcheck(lambda x, inc=include: C.avg_pool(x, (3, 2), (2, 2), pads, ceil_mode, inc), x)
