"""A tensor's autograd graph as data and as a matplotlib drawing (no graphviz needed).

`graph_data(t)` walks the `grad_fn` chain from `t` back to its leaves and records, for
every backward node, the tensors it saved for the backward pass (its `_saved_*`
attributes) and whether each one is still held or was freed by a backward pass
(reading a freed saved tensor raises RuntimeError). `draw_graph(t, ax)` draws it with
the forward pass running left to right: leaves on the left, the output on the right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from coursekit.plots.style import color

__all__ = ["AutogradGraph", "GraphNode", "SavedTensor", "draw_graph", "graph_data"]

NodeKind = Literal["output", "operation", "leaf"]


@dataclass(frozen=True)
class SavedTensor:
    """One tensor a backward node saved: its name (`result`, `self`, ...), and shape/size while it is held."""

    name: str
    freed: bool
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    nbytes: int = 0

    def describe(self) -> str:
        if self.freed:
            return f"{self.name}: freed"
        return f"{self.name} {_shape_text(self.shape)} {self.dtype}, {self.nbytes} bytes"


@dataclass(frozen=True)
class GraphNode:
    """A node of the drawing: the output tensor, a backward operation, or a leaf that requires grad."""

    id: int
    kind: NodeKind
    label: str
    op: str = ""
    shape: tuple[int, ...] | None = None
    saved: tuple[SavedTensor, ...] = ()
    depth: int = 0  # steps from the output, counted along the longest path


@dataclass(frozen=True)
class AutogradGraph:
    """Nodes and edges of an autograd graph; an edge (i, j) means node i's value flows into node j."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def saved(self) -> list[tuple[GraphNode, SavedTensor]]:
        """Every saved tensor with the operation that saved it."""
        return [(node, s) for node in self.nodes for s in node.saved]

    @property
    def held_bytes(self) -> int:
        """Bytes of the saved tensors still held (numel x element size; storage shared with other tensors counts)."""
        return sum(s.nbytes for _, s in self.saved if not s.freed)

    @property
    def freed_count(self) -> int:
        return sum(s.freed for _, s in self.saved)

    def node(self, label: str) -> GraphNode:
        """The first node with this label (e.g. 'Softmax' or a leaf's name)."""
        for node in self.nodes:
            if node.label == label:
                return node
        raise KeyError(f"No node labelled {label!r}; labels: {', '.join(n.label for n in self.nodes)}.")

    def __repr__(self) -> str:
        lines = [f"AutogradGraph: {len(self.nodes)} nodes, {len(self.saved)} saved tensors "
                 f"({len(self.saved) - self.freed_count} held, {self.freed_count} freed)"]
        for node in self.nodes:
            inputs = [self.nodes[i].label for i, j in self.edges if j == node.id]
            head = f"  [{node.kind}] {node.label}" + (f" {_shape_text(node.shape)}" if node.shape is not None else "")
            if inputs:
                head += " <- " + ", ".join(inputs)
            lines.append(head)
            lines.extend(f"      saved {s.describe()}" for s in node.saved)
        return "\n".join(lines)


def _shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return ""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _op_label(fn: Any) -> str:
    # SoftmaxBackward0 -> Softmax: the node does the backward of the forward operation it is named after.
    return re.sub(r"Backward\d*$", "", type(fn).__name__) or type(fn).__name__


def _saved_tensors(fn: Any) -> tuple[SavedTensor, ...]:
    found = []
    for attr in sorted(a for a in dir(fn) if a.startswith("_saved_")):
        name = attr[len("_saved_"):]
        try:
            value = getattr(fn, attr)
        except RuntimeError:  # the saved tensor was freed by a backward pass without retain_graph
            found.append(SavedTensor(name, freed=True))
            continue
        items = [(name, value)] if isinstance(value, torch.Tensor) else \
            [(f"{name}[{i}]", v) for i, v in enumerate(value)] if isinstance(value, (list, tuple)) else []
        for item_name, item in items:
            if isinstance(item, torch.Tensor):
                found.append(SavedTensor(item_name, freed=False, shape=tuple(item.shape),
                                         dtype=str(item.dtype).replace("torch.", ""),
                                         nbytes=item.numel() * item.element_size()))
    return tuple(found)


def graph_data(output: torch.Tensor, *, names: Mapping[str, torch.Tensor] | None = None) -> AutogradGraph:
    """The autograd graph behind `output`: operations, leaves (named via `names`) and saved tensors."""
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"graph_data() needs a tensor, got {type(output).__name__}.")
    if output.grad_fn is None and not output.requires_grad:
        raise ValueError("This tensor has no autograd graph: it does not require grad and has no grad_fn. "
                         "Create the inputs with requires_grad=True before computing it.")
    labels = {id(t): n for n, t in (names or {}).items()}
    out_label = labels.get(id(output), "output")
    nodes: list[dict[str, Any]] = []
    index: dict[int, int] = {}  # id(autograd node) -> position in `nodes`
    keep: list[Any] = []  # holds the autograd nodes so their ids stay unique during the walk
    edges: list[tuple[int, int]] = []

    def add(fn: Any) -> int:
        if id(fn) in index:
            return index[id(fn)]
        keep.append(fn)
        if type(fn).__name__ == "AccumulateGrad":
            var = fn.variable
            entry = {"kind": "leaf", "label": labels.get(id(var), "leaf"), "op": "AccumulateGrad",
                     "shape": tuple(var.shape), "saved": ()}
        else:
            entry = {"kind": "operation", "label": _op_label(fn), "op": type(fn).__name__, "shape": None,
                     "saved": _saved_tensors(fn)}
        index[id(fn)] = len(nodes)
        nodes.append(entry)
        for child, _ in fn.next_functions:
            if child is not None:
                edge = (add(child), index[id(fn)])
                if edge not in edges:
                    edges.append(edge)
        return index[id(fn)]

    if output.grad_fn is None:  # the output is itself a leaf
        nodes.append({"kind": "leaf", "label": labels.get(id(output), "leaf"), "op": "AccumulateGrad",
                      "shape": tuple(output.shape), "saved": ()})
        return AutogradGraph((GraphNode(0, **nodes[0]),), ())
    nodes.append({"kind": "output", "label": out_label, "op": "", "shape": tuple(output.shape), "saved": ()})
    edges.append((add(output.grad_fn), 0))
    depth = _depths(len(nodes), edges)
    return AutogradGraph(tuple(GraphNode(i, depth=depth[i], **entry) for i, entry in enumerate(nodes)),
                         tuple(edges))


def _depths(count: int, edges: list[tuple[int, int]]) -> list[int]:
    """Longest number of edges from each node to the output (node 0); leaves share the deepest column."""
    consumers: dict[int, list[int]] = {i: [] for i in range(count)}
    for src, dst in edges:
        consumers[src].append(dst)
    memo: dict[int, int] = {0: 0}

    def depth(i: int) -> int:
        if i not in memo:
            memo[i] = 1 + max(depth(j) for j in consumers[i])
        return memo[i]

    return [depth(i) for i in range(count)]


def _layout(graph: AutogradGraph) -> dict[int, tuple[float, float]]:
    """Positions: one column per depth (output on the right); each node near the rows of its consumers."""
    width = max(n.depth for n in graph.nodes)
    consumers: dict[int, list[int]] = {n.id: [] for n in graph.nodes}
    for src, dst in graph.edges:
        consumers[src].append(dst)
    pos: dict[int, tuple[float, float]] = {}
    for col in range(width + 1):
        ids = [n.id for n in graph.nodes if n.depth == col]
        wanted = {i: sum(pos[j][1] for j in consumers[i]) / len(consumers[i]) if consumers[i] else 0.0
                  for i in ids}
        ordered = sorted(ids, key=lambda i: -wanted[i])
        # one row apart, top to bottom, then centred on the rows the consumers asked for
        centre = sum(wanted.values()) / len(ids)
        for k, i in enumerate(ordered):
            pos[i] = (float(width - col), centre + (len(ordered) - 1) / 2 - k)
    return pos


_KIND_COLOUR = {"leaf": "blue", "operation": "orange", "output": "green"}


def draw_graph(output: torch.Tensor | AutogradGraph, ax: Axes, *, names: Mapping[str, torch.Tensor] | None = None,
               title: str | None = None, legend: bool = True) -> Axes:
    """Draw the autograd graph of `output` (or an `AutogradGraph`) on `ax`: leaves left, output right."""
    graph = output if isinstance(output, AutogradGraph) else graph_data(output, names=names)
    pos = _layout(graph)
    artists = {}
    for node in graph.nodes:
        c = color(_KIND_COLOUR[node.kind])
        text = node.label + (f"\n{_shape_text(node.shape)}" if node.shape is not None else "")
        artists[node.id] = ax.text(*pos[node.id], text, ha="center", va="center", fontsize=10, zorder=3,
                                   bbox={"boxstyle": "round,pad=0.4", "facecolor": c + "33", "edgecolor": c,
                                         "linewidth": 1.5})
        # One note per saved tensor under its node, name and shape on two lines (about as narrow as the
        # node): vermillion while held, grey italics once a backward pass has freed it.
        for k, s in enumerate(node.saved):
            note = f"saved {s.name}:\nfreed" if s.freed else f"saves {s.name}\n{_shape_text(s.shape)}"
            ax.annotate(note, xy=(0.5, 0.0), xycoords=artists[node.id], xytext=(0, -6 - 21 * k),
                        textcoords="offset points", ha="center", va="top", fontsize=8, zorder=3,
                        color="#777777" if s.freed else color("vermillion"),
                        fontstyle="italic" if s.freed else "normal")
    for src, dst in graph.edges:
        ax.annotate("", xy=(0.0, 0.5), xycoords=artists[dst], xytext=(1.0, 0.5), textcoords=artists[src],
                    arrowprops={"arrowstyle": "-|>", "color": "#444444", "linewidth": 1.2,
                                "shrinkA": 3, "shrinkB": 3}, zorder=2)
    xs, ys = [x for x, _ in pos.values()], [y for _, y in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    # room under the lowest row for its saved-tensor notes (one more note, a little more room)
    notes = max(len(n.saved) for n in graph.nodes if pos[n.id][1] == min(ys))
    ax.set_ylim(min(ys) - 0.55 - 0.3 * max(notes - 1, 0), max(ys) + 0.35)
    ax.set_axis_off()
    held = len(graph.saved) - graph.freed_count
    handles = [Patch(facecolor=color(_KIND_COLOUR[k]) + "33", edgecolor=color(_KIND_COLOUR[k]), label=lbl)
               for k, lbl in (("leaf", "leaf (requires_grad)"), ("operation", "backward node (grad_fn)"),
                              ("output", "output tensor"))]
    handles += [Line2D([], [], color=color("vermillion"), marker="s", linestyle="", label="saved tensor, held"),
                Line2D([], [], color="#777777", marker="s", linestyle="", label="saved tensor, freed")]
    if legend:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False,
                  fontsize=8)
    ax.set_title(title if title is not None else
                 f"{held} saved tensor(s) held, {graph.freed_count} freed", fontsize=11)
    return ax
