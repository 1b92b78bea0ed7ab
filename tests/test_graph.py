"""graph_data reads the autograd graph correctly (nodes, edges, saved and freed tensors); draw_graph draws it."""

from __future__ import annotations

import matplotlib
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.patches import FancyArrowPatch, Patch
from matplotlib.text import Annotation

from coursekit.graph import AutogradGraph, _legend_handles, draw_graph, graph_data
from coursekit.plots import color, figure

matplotlib.use("Agg")


def _softmax_output():
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    p = torch.softmax(a, dim=0)
    return a, p, p[1]


def test_softmax_graph_nodes_edges_and_saved_result():
    a, p, y = _softmax_output()
    graph = graph_data(y, names={"a": a, "y": y})
    assert [(n.kind, n.label) for n in graph.nodes] == [("output", "y"), ("operation", "Select"),
                                                        ("operation", "Softmax"), ("leaf", "a")]
    assert set(graph.edges) == {(1, 0), (2, 1), (3, 2)}
    assert [n.depth for n in graph.nodes] == [0, 1, 2, 3]
    (saved,) = graph.node("Softmax").saved
    assert (saved.name, saved.freed, saved.shape, saved.dtype, saved.nbytes) == ("result", False, (3,), "float64", 24)
    assert graph.node("Select").saved == () and graph.node("a").shape == (3,)
    assert graph.held_bytes == 24 and graph.freed_count == 0


def test_backward_frees_saved_tensors_and_retain_graph_keeps_them():
    a, p, y = _softmax_output()
    torch.autograd.grad(y, a, retain_graph=True)
    assert graph_data(y).freed_count == 0
    torch.autograd.grad(y, a)
    after = graph_data(y)
    (saved,) = after.node("Softmax").saved
    assert saved.freed and saved.shape is None and after.held_bytes == 0 and after.freed_count == 1
    # the drawing's data matches what autograd itself does: the freed tensor cannot be read any more
    with pytest.raises(RuntimeError, match="freed"):
        _ = p.grad_fn._saved_result


@pytest.mark.parametrize("make,saved_names", [
    (lambda w: (w + 1).sum(), set()),
    (lambda w: (w * w).sum(), {"Mul.self", "Mul.other"}),
    (lambda w: (3 * w).sum(), {"Mul.other"}),
    (lambda w: w.exp().sum(), {"Exp.result"}),
    (lambda w: torch.stack([w.tanh(), w]).sum(), {"Tanh.result"}),
])
def test_which_operations_save_tensors(make, saved_names):
    w = torch.ones(4, requires_grad=True)
    graph = graph_data(make(w))
    assert {f"{node.label}.{s.name}" for node, s in graph.saved} == saved_names


def test_a_tensor_used_twice_is_one_leaf_node():
    w = torch.ones(2, requires_grad=True)
    graph = graph_data((w * w).sum(), names={"w": w})
    assert [n.label for n in graph.nodes if n.kind == "leaf"] == ["w"]
    assert graph.edges.count((3, 2)) == 1


def test_held_bytes_agree_with_saved_tensor_hooks():
    packed = []
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 5, generator=gen)
    w1 = torch.randn(5, 6, generator=gen, requires_grad=True)
    w2 = torch.randn(6, 2, generator=gen, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t.numel() * t.element_size()) or t,
                                                  lambda t: t):
        loss = torch.tanh(torch.relu(x @ w1) @ w2).pow(2).mean()
    graph = graph_data(loss)
    assert graph.held_bytes == sum(packed) and len(graph.saved) == len(packed)
    loss.backward()
    assert graph_data(loss).freed_count == len(packed)


def test_a_leaf_and_a_constant():
    w = torch.ones(3, requires_grad=True)
    graph = graph_data(w, names={"w": w})
    assert [(n.kind, n.label) for n in graph.nodes] == [("leaf", "w")] and graph.edges == ()
    with pytest.raises(ValueError, match="requires_grad=True"):
        graph_data(torch.ones(3) * 2)
    with pytest.raises(TypeError):
        graph_data([1.0, 2.0])


def test_text_form_is_deterministic_and_names_the_saved_tensors():
    a, _, y = _softmax_output()
    text = repr(graph_data(y, names={"a": a}))
    assert "0x" not in text
    assert "[operation] Softmax <- a" in text and "saved result (3,) float64, 24 bytes" in text


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_draw_graph_draws_every_node_edge_and_saved_tensor():
    a, _, y = _softmax_output()
    fig, ax = figure(width=8, height=2.5)
    returned = draw_graph(y, ax, names={"a": a, "p[1]": y})
    assert returned is ax
    texts = _texts(ax)
    assert {"a\n(3,)", "Softmax", "Select", "p[1]\n()"} <= set(texts)
    assert "saves result\n(3,)" in texts
    arrows = [t for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is not None]
    assert len(arrows) == 3
    assert "1 saved tensor(s) held, 0 freed" in ax.get_title()
    assert ax.get_legend() is not None
    fig.canvas.draw()  # the arrows are anchored to the boxes: drawing must work


def test_draw_graph_marks_freed_tensors_and_accepts_graph_data():
    a, _, y = _softmax_output()
    torch.autograd.grad(y, a)
    graph = graph_data(y)
    assert isinstance(graph, AutogradGraph)
    fig, ax = figure(width=8, height=2.5)
    draw_graph(graph, ax, title="after", legend=False)
    assert "result: freed" in _texts(ax)
    assert ax.get_title() == "after" and ax.get_legend() is None


def test_layout_puts_leaves_left_and_the_output_right():
    w = torch.ones(3, 2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    loss = (torch.ones(4, 3) @ w + b).tanh().sum()
    fig, ax = figure(width=8, height=3)
    draw_graph(loss, ax, names={"w": w, "b": b, "loss": loss})
    x_of = {t.get_text().split("\n")[0]: t.get_position()[0] for t in ax.texts
            if not isinstance(t, Annotation)}
    assert x_of["w"] < x_of["Mm"] < x_of["Add"] < x_of["Tanh"] < x_of["Sum"] < x_of["loss"]
    assert x_of["b"] < x_of["Add"]


def test_each_saved_tensor_gets_its_own_note_held_or_freed():
    b = torch.tensor([1.0, 2.0], requires_grad=True)
    e, m = b.exp(), b * b
    z = e.sum() + m.sum()
    e.sum().backward()  # frees the Exp branch only; Mul's saved tensors stay
    fig, ax = figure(width=8, height=3)
    draw_graph(z, ax, names={"b": b, "z": z})
    notes = {t.get_text(): t for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is None}
    assert set(notes) == {"result: freed", "saves other\n(2,)", "saves self\n(2,)"}
    assert notes["result: freed"].get_fontstyle() == "italic"
    assert notes["result: freed"].get_bbox_patch().get_linestyle() == "--"
    assert notes["saves self\n(2,)"].get_color() == color("vermillion")
    assert "2 saved tensor(s) held, 1 freed" in ax.get_title()
    fig.canvas.draw()


# --- several outputs, the walked path, arrow direction and legend ----------------------------------------------

def _two_outputs():
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    p = torch.softmax(a, dim=0)
    p1, p2 = p[1], p[2]
    return a, p1, p2, {"a": a, "p[1]": p1, "p[2]": p2}


def test_several_outputs_share_the_softmax_node():
    a, p1, p2, names = _two_outputs()
    graph = graph_data([p1, p2], names=names)
    assert [n.label for n in graph.outputs] == ["p[1]", "p[2]"]
    softmax = graph.node("Softmax")
    selects = [n for n in graph.nodes if n.label == "Select"]
    assert len(selects) == 2 and sum(1 for n in graph.nodes if n.label == "Softmax") == 1
    assert {(softmax.id, s.id) for s in selects} <= set(graph.edges)  # one Softmax feeds both
    assert all(n.depth == 0 for n in graph.outputs) and softmax.depth == 2 and graph.node("a").depth == 3
    assert len(graph.saved) == 1 and not any(n.walked for n in graph.nodes)
    with pytest.raises(TypeError):
        graph_data([p1, "p2"])


def test_walked_marks_the_first_backwards_path_and_what_it_freed():
    a, p1, p2, names = _two_outputs()
    torch.autograd.grad(p1, a)
    graph = graph_data([p1, p2], names=names, walked=p1)
    walked = {(n.kind, n.label) for n in graph.nodes if n.walked}
    assert walked == {("output", "p[1]"), ("operation", "Select"), ("operation", "Softmax"), ("leaf", "a")}
    second_select = [n for n in graph.nodes if n.label == "Select" and not n.walked]
    assert len(second_select) == 1 and not graph.node("p[2]").walked
    # what the first backward freed lies on its path
    assert all(node.walked for node, s in graph.saved if s.freed) and graph.freed_count == 1
    assert len(graph.walked_edges) == 3 and "(walked)" in repr(graph)
    with pytest.raises(RuntimeError, match="second time"):
        torch.autograd.grad(p2, a)


def _arrows(ax):
    return [t for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is not None]


def test_arrows_point_the_way_backward_walks_and_the_walked_path_stands_out():
    a, p1, p2, names = _two_outputs()
    torch.autograd.grad(p1, a)
    fig, ax = figure(width=8, height=3.6)
    draw_graph(graph_data([p1, p2], names=names, walked=p1), ax)
    fig.canvas.draw()
    arrows = _arrows(ax)
    assert len(arrows) == 5
    for arrow in arrows:
        (x0, _), (x1, _) = arrow.arrow_patch.get_path().vertices[[0, -1]]
        assert x1 < x0  # every arrow runs from a node to its inputs: right to left, as backward walks
    purple = [a for a in arrows if to_hex(a.arrow_patch.get_edgecolor()) == color("purple").lower()]
    assert len(purple) == 3 and all(a.arrow_patch.get_linewidth() > 2 for a in purple)
    boxes = {t.get_text().split("\n")[0]: t.get_bbox_patch() for t in ax.texts if not isinstance(t, Annotation)}
    assert to_hex(boxes["a"].get_edgecolor()) == color("purple").lower()
    assert to_hex(boxes["p[2]"].get_edgecolor()) == color("green").lower()


def test_legend_markers_are_what_the_figure_draws():
    b = torch.tensor([1.0, 2.0], requires_grad=True)
    e, m = b.exp(), b * b
    z = e.sum() + m.sum()
    e.sum().backward()
    fig, ax = figure(width=9, height=3)
    draw_graph(graph_data(z, names={"b": b, "z": z}, walked=e), ax)
    legend = ax.get_legend()
    handles = dict(zip([t.get_text() for t in legend.get_texts()], legend.legend_handles, strict=True))
    notes = {t.get_text(): t.get_bbox_patch() for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is None}
    held, freed = handles["saved tensor, held"], handles["saved tensor, freed"]
    assert isinstance(held, Patch) and isinstance(freed, Patch)
    assert to_hex(held.get_edgecolor()) == to_hex(notes["saves self\n(2,)"].get_edgecolor())
    assert to_hex(freed.get_edgecolor()) == to_hex(notes["result: freed"].get_edgecolor())
    # the handles the legend is built from carry the notes' own line style too (held solid, freed dashed)
    styles = {h.get_label(): h.get_linestyle() for h in _legend_handles(graph_data(z)) if isinstance(h, Patch)}
    assert styles["saved tensor, freed"] == notes["result: freed"].get_linestyle() == "--"
    assert styles["saved tensor, held"] == notes["saves self\n(2,)"].get_linestyle() == "solid"
    arrow_labels = [k for k, h in handles.items() if isinstance(h, FancyArrowPatch)]
    assert arrow_labels == ["backward pass: node → its inputs", "walked by the backward pass"]
    assert "backward node (grad_fn) of an operation" in handles


def test_box_text_keeps_clear_of_its_border():
    w = torch.ones(512, 512, requires_grad=True)
    loss = (torch.ones(4, 512) @ w).tanh().sum()
    fig, ax = figure(width=8, height=3)
    draw_graph(loss, ax, names={"w": w, "loss": loss})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for text in ax.texts:
        patch = text.get_bbox_patch()
        if patch is None:
            continue
        inner, outer = text.get_window_extent(renderer), patch.get_window_extent(renderer)
        margin = min(inner.x0 - outer.x0, outer.x1 - inner.x1, inner.y0 - outer.y0, outer.y1 - inner.y1)
        assert margin >= 3, (text.get_text(), margin)  # pixels at the figure's dpi


def test_reading_a_graph_does_not_keep_it_alive():
    import gc
    import weakref

    alive = []

    class Box:
        def __init__(self, t):
            self.t = t.detach()

    def pack(t):
        box = Box(t)
        alive.append(weakref.ref(box))
        return box

    w = torch.ones(3, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda box: box.t):
        y = w.exp().sum()
    graph_data([y], names={"w": w, "y": y}, walked=y)
    gc.disable()  # the graph must go with its last reference, not at some later collection
    try:
        del y
        assert alive and all(ref() is None for ref in alive)
    finally:
        gc.enable()
