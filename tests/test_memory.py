"""Memory: backward frees saved arrays, graphs have no reference cycles, training does not grow."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.autograd import iter_graph

MiB = 1 << 20


class SmallCNN:
    """conv 1->4 (3x3), sigmoid, 2x2 mean pool, linear -> 2 classes, on 32 images of 16x16."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.conv = tg.nn.Conv2d(1, 4, 3, rng=rng)
        self.fc = tg.nn.Linear(4 * 7 * 7, 2, rng=rng)
        self.opt = tg.optim.SGD([*self.conv.parameters(), *self.fc.parameters()], lr=0.05)
        self.x = rng.standard_normal((32, 1, 16, 16)).astype(np.float32)
        self.y = rng.integers(0, 2, 32)

    def loss(self):
        h = self.conv(tg.Tensor(self.x)).sigmoid().avg_pool2d(2)
        return tg.functional.cross_entropy(self.fc(h.flatten(1)), self.y)

    def step(self):
        loss = self.loss()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()


@pytest.fixture
def model():
    """A SmallCNN after one step, with the cycle collector off from then on: whatever is freed
    is freed by reference counting alone. (Garbage from before, e.g. of imports, is collected first.)"""
    model = SmallCNN()
    model.step()
    gc.collect()
    gc.disable()
    yield model
    gc.enable()


@pytest.fixture
def traced():
    tracemalloc.start()
    yield lambda: tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()


def test_backward_releases_saved_arrays_and_retain_graph_keeps_them():
    model = SmallCNN()
    loss = model.loss()
    nodes = list(iter_graph(loss))
    assert any(n._ctx._saved for n in nodes)
    loss.backward(retain_graph=True)
    assert not any(n._ctx.released for n in nodes)
    loss.backward()
    assert all(n._ctx.released and n._ctx._saved is None and n._ctx._watched == () for n in nodes)


@pytest.mark.parametrize("backward", [True, False], ids=["after-backward", "never-backwarded"])
@pytest.mark.parametrize("anomaly", [False, True], ids=["normal", "anomaly-mode"])
def test_a_dropped_graph_dies_without_the_cycle_collector(model, backward, anomaly):
    with tg.detect_anomaly(anomaly):
        loss = model.loss()
    inner = list(iter_graph(loss))[-1]  # the first op of the forward pass
    refs = [weakref.ref(loss), weakref.ref(inner), weakref.ref(inner._ctx), weakref.ref(inner._data)]
    if backward:
        loss.backward()
    del loss, inner
    assert [r() for r in refs] == [None] * 4
    assert gc.collect() == 0
    assert all(p._guard is None or p._guard.live == 0 for p in model.conv.parameters())


def test_training_steps_make_no_garbage_for_the_cycle_collector(model):
    for _ in range(5):
        model.step()
    assert gc.collect() == 0


def test_200_training_steps_do_not_grow_memory(model, traced):
    before = traced()
    loss = model.loss()
    graph_bytes = traced() - before  # what one live graph holds
    del loss
    memory = {}
    for step in range(1, 201):
        model.step()
        memory[step] = traced()
    growth = memory[200] - memory[20]
    # Measured: one graph holds 0.27 MB; steps 20 -> 200 grow by 0.21 MB, CPython's tuple free
    # lists (up to 2,000 spare tuples per size, still counted by tracemalloc) filling up: the
    # growth levels off at 0.31 MB by step 1,600 (+64 bytes from 1,600 to 3,200).
    # Keeping one graph in every 45 steps (4 graphs) would already exceed the bound.
    assert graph_bytes > MiB / 4
    assert growth < MiB, f"traced memory grew by {growth} bytes from step 20 to step 200"
    losses = [model.step() for _ in range(3)]
    assert all(np.isfinite(losses))


def test_no_grad_outputs_hold_nothing_but_their_array(model, traced):
    with tg.no_grad():  # once first: per-shape caches (the lowering's cost model, chunk plans) fill up
        model.conv(tg.Tensor(model.x)).sigmoid().avg_pool2d(2)
    before = traced()
    with tg.no_grad():
        out = model.conv(tg.Tensor(model.x)).sigmoid().avg_pool2d(2)
    held = traced() - before
    assert out._ctx is None
    assert not out.requires_grad
    assert held < out.data.nbytes + 4096  # the output array plus object headers: no intermediates
    del out
    out = model.conv(tg.Tensor(model.x)).sigmoid().avg_pool2d(2)
    assert traced() - before > 3 * out.data.nbytes  # with grad, the graph keeps its saved arrays
