"""The benchmark scripts run end to end and report what docs/benchmarks.md reads from them
(one round, no timing asserted: speed is judged by the ratios they print, not by tests)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_text(script: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def run_json(script: str, *args: str) -> dict:
    return json.loads(run_text(script, *args, "--json"))


def test_bench_zhang_checks_torch_and_reports_ratios_memory_and_loops():
    result = run_json("bench_zhang.py", "--batches", "1", "2", "--rounds", "1")
    assert result["max_relative_difference"] < 1e-4
    assert [row["batch"] for row in result["results"]] == [1, 2]
    for row in result["results"]:
        assert row["step_ratio"] > 0
        assert row["forward_ratio"] > 0
        assert set(row["peak_step_memory_mib"]) == {"tinygrad_np", "torch"}
    assert result["original_loops_forward_1_image_ms"] > 0
    assert result["speedup_over_original_loops_per_image_forward"] > 1
    assert result["threads"]["torch"].startswith("2.")


def test_bench_conv_checks_gradients_and_names_the_algorithm():
    result = run_json("bench_conv.py", "--rounds", "1")
    rows = result["results"]
    assert len(rows) == 13
    lowerings = {part.split()[1].rstrip("0123456789") for row in rows for part in row["algorithm"].split(", ")}
    assert {"band", "im2col", "rows", "flipped-im2col", "flipped-rows", "matmul", "depthwise"} >= lowerings
    assert {"band", "im2col", "rows", "matmul", "depthwise"} <= lowerings
    assert all([part.split()[0] for part in row["algorithm"].split(", ")] == ["fwd", "dx", "dw"] for row in rows)


def test_after_idle_prints_a_row_per_library():
    text = run_text("after_idle.py", "--batch", "2", "--pause", "0", "--calls", "3", "--rounds", "1")
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()
            if line.startswith(("tinygrad_np ", "torch "))}
    assert set(rows) == {"tinygrad_np", "torch"}
    assert all(len(times) == 3 for times in rows.values())


def test_per_op_lists_the_cnn_primitives_and_the_whole_pass_and_compares_with_torch():
    text = run_text("per_op.py", "--batch", "2", "--calls", "2", "--torch", "--rounds", "1")
    in_model, _, side_by_side = text.partition("each op on its own")
    names = {line.split()[0] for line in in_model.splitlines()[2:]}
    assert {"conv2d", "sigmoid", "avg_pool2d", "threshold", "(whole"} <= names
    rows = {line.split()[0]: line.split()[1:] for line in side_by_side.splitlines()[1:]}
    assert set(rows) == {"conv2d", "sigmoid", "avg_pool2d", "threshold"}
    for ours, slash, theirs, ratio in rows.values():
        assert slash == "/"
        assert float(ours) > 0
        assert float(theirs) > 0
        assert float(ratio.strip("()")) > 0


def test_bench_lowerings_times_both_lowerings_for_every_pass():
    text = run_text("bench_lowerings.py", "--rounds", "1", "--batch-scale", "0.05")
    rows = [line for line in text.splitlines()[2:] if line.strip()]
    assert len(rows) == 11 * 3
    assert all(line.split()[-1] in ("band", "im2col", "faster)") for line in rows)


def test_bench_dispatch_reports_the_three_hand_offs():
    text = run_text("bench_dispatch.py", "--calls", "20")
    assert [line.split(" median")[0].strip() for line in text.splitlines()] == [
        "worker hand-off", "executor hand-off", "map_slices"]


def test_bench_malloc_reports_memory_kept_and_faults_per_setting():
    result = run_json("bench_malloc.py", "--runs", "1", "--steps", "2")
    assert set(result["kept_mib_after_8_threads_free_200_mib"]) == {"as imported", "thresholds only", "off"}
    assert set(result["cnn"]["off"]) == {"train 64", "infer 64", "train 256", "infer 256"}


def test_bench_models_checks_torch_and_reports_ratios_and_memory_per_model():
    result = run_json("bench_models.py", "--quick")
    assert list(result["models"]) == ["lenet5", "vgg", "vgg_bn", "resnet"]
    for entry in result["models"].values():
        assert entry["max_relative_difference"]["float64"] < 1e-9
        assert entry["max_relative_difference"]["float32"] < 1e-4
        (row,) = entry["results"]
        assert row["batch"] == 2
        assert row["step_ratio"] > 0
        assert row["forward_ratio"] > 0
        assert set(entry["peak_step_memory_mib"]) == {"batch", "tinygrad_np", "torch"}


def test_per_op_times_the_layers_of_the_models_next_to_torch():
    text = run_text("per_op.py", "--models", "lenet5", "resnet", "--batch", "2", "--rounds", "1")
    rows = [line.split() for line in text.splitlines()[2:]]
    assert {(row[0], row[1]) for row in rows} == {
        ("lenet5", "relu"), ("lenet5", "max_pool2d"), ("lenet5", "cross_entropy"),
        ("resnet", "relu"), ("resnet", "batch_norm"), ("resnet", "cross_entropy")}
    for row in rows:
        assert row[3] == "/"
        assert float(row[2]) > 0
        assert float(row[4]) > 0


def test_bench_gelu_checks_torch_and_times_both_gelus_and_the_old_erf():
    result = run_json("bench_gelu.py", "--shape", "2", "3", "8", "8", "--rounds", "1")
    assert result["max_relative_difference"] < 1e-12
    assert set(result["median_ms"]) == {"ours exact", "torch exact", "ours tanh", "torch tanh", "math.erf per element"}
    assert result["exact_ratio"] > 0
    assert result["tanh_ratio"] > 0
