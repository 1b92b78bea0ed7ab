"""The step-through of the engine's backward records what the walk did, and draws it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from coursekit import engine, engine_graph  # noqa: E402


def _example():
    x = engine.Tensor(torch.tensor([1.0, -0.5, 2.0]), requires_grad=True, name="x")
    w = engine.Tensor(torch.tensor([0.5, 1.5, -1.0]), requires_grad=True, name="w")
    y = ((x * w).exp() * w).sum()
    return x, w, y


def test_steps_follow_the_walk_and_the_freeing():
    x, w, y = _example()
    steps = engine_graph.backward_steps(y, names={"x": x, "w": w, "y": y}, second_pass=True)
    assert [s.current_label for s in steps] == ["", "Sum", "Mul", "Exp", "Mul", "Mul"]
    assert [len(s.held) for s in steps] == [5, 5, 3, 2, 0, 0]
    heard = [{n.label: (n.heard, n.uses) for n in s.nodes if n.kind == "leaf"} for s in steps]
    assert heard[0] == {"x": (0, 1), "w": (0, 2)}
    assert heard[2] == {"x": (0, 1), "w": (1, 2)}  # w hears from its second use first
    assert heard[4] == {"x": (1, 1), "w": (2, 2)}
    assert steps[-1].failed and not any(s.failed for s in steps[:-1])
    assert steps[-1].ran == (1,)  # the second pass got through Sum before it stopped
    # the recording ran the real backward: the leaves hold the gradients
    xt, wt = torch.tensor([1.0, -0.5, 2.0], requires_grad=True), torch.tensor([0.5, 1.5, -1.0], requires_grad=True)
    ((xt * wt).exp() * wt).sum().backward()
    torch.testing.assert_close(w.grad, wt.grad)


def test_with_retain_graph_the_second_pass_runs():
    x, w, y = _example()
    steps = engine_graph.backward_steps(y, names={"y": y}, retain_graph=True, second_pass=True)
    # every value is held through the first pass; the second one (without retain_graph) frees them
    assert [len(s.held) for s in steps] == [5, 5, 5, 5, 5, 0]
    assert not steps[-1].failed and "it ran" in steps[-1].title
    torch.testing.assert_close(w.grad.abs() > 0, torch.ones(3, dtype=torch.bool))


def test_text_says_what_is_held():
    x, w, y = _example()
    steps = engine_graph.backward_steps(y, names={"x": x, "w": w, "y": y})
    assert repr(steps[3]).splitlines() == ["3. Exp's VJP ran: freed out", "  saved values held: Mul.a, Mul.b",
                                           "  leaf gradients (uses heard from): w 1/2, x 0/1"]


@pytest.mark.parametrize("index", range(6))
def test_every_step_draws_boxes_notes_and_arrows(index):
    x, w, y = _example()
    steps = engine_graph.backward_steps(y, names={"x": x, "w": w, "y": y}, second_pass=True)
    fig, ax = plt.subplots()
    try:
        returned = engine_graph.draw_step(steps[index], ax, legend=True)
        assert returned is ax
        texts = [t.get_text() for t in ax.texts]
        assert sum(t.startswith("Mul") for t in texts) == 2 and any(t.startswith("y\n") for t in texts)
        notes = [c.get_text() for c in ax.get_children() if hasattr(c, "get_text")]
        freed = sum(n.endswith(" freed") for n in notes)
        assert freed == 5 - len(steps[index].held) if index < 5 else freed == 5
        assert len(ax.get_legend().get_texts()) >= 5
        assert ax.get_title() == steps[index].title
    finally:
        plt.close(fig)


def test_legend_lists_only_what_the_steps_show():
    x, w, y = _example()
    steps = engine_graph.backward_steps(y, names={"x": x, "w": w, "y": y}, second_pass=True)
    before = [h.get_label() for h in engine_graph.legend_handles(steps[:1])]
    assert "saved value, freed" not in before and "gradient has travelled" not in before
    everything = [h.get_label() for h in engine_graph.legend_handles(steps)]
    assert {"saved value, freed", "node that found its values freed", "gradient has travelled"} <= set(everything)


def test_a_larger_graph_draws():
    gen = torch.Generator().manual_seed(0)
    X = engine.Tensor(torch.randn(5, 2, generator=gen))
    W1 = engine.Tensor(torch.randn(3, 2, generator=gen), requires_grad=True, name="W1")
    W2 = engine.Tensor(torch.randn(2, 3, generator=gen), requires_grad=True, name="W2")
    loss = -((X @ W1.T).relu() @ W2.T).softmax(-1).log().sum()
    steps = engine_graph.backward_steps(loss, names={"W1": W1, "W2": W2, "loss": loss})
    fig, ax = plt.subplots()
    try:
        engine_graph.draw_step(steps[-1], ax)
        assert steps[-1].held == []
    finally:
        plt.close(fig)
