"""A tensor's autograd graph as data and as a matplotlib drawing (no graphviz needed).

`graph_data(outputs)` walks the `grad_fn` chains from one or several outputs back to their leaves
and records, for every backward node, the tensors it saved for the backward pass (its `_saved_*`
attributes) and whether each one is still held or was freed by a backward pass (reading a freed
saved tensor raises RuntimeError). Given `walked=`, it also marks the nodes a backward pass from
those outputs went through. `draw_graph(graph, ax)` lays the graph out as the forward pass ran,
leaves on the left and outputs on the right, and draws its arrows the way the backward pass walks:
from each node to the nodes of its inputs (`grad_fn.next_functions`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from matplotlib.axes import Axes
from matplotlib.legend_handler import HandlerPatch
from matplotlib.patches import FancyArrowPatch, Patch

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
    """A node of the drawing: an output tensor, a backward operation, or a leaf that requires grad."""

    id: int
    kind: NodeKind
    label: str
    op: str = ""
    shape: tuple[int, ...] | None = None
    saved: tuple[SavedTensor, ...] = ()
    depth: int = 0  # steps to the nearest output along the longest path (outputs are 0)
    walked: bool = False  # a backward pass from the `walked` outputs went through this node


@dataclass(frozen=True)
class AutogradGraph:
    """Nodes and edges of an autograd graph; an edge (i, j) means node i's value flows into node j.

    The backward pass walks the edges the other way, from j to i (`grad_fn.next_functions`).
    """

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def outputs(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "output"]

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

    @property
    def walked_edges(self) -> list[tuple[int, int]]:
        """The edges a backward pass from the `walked` outputs went along (both ends walked)."""
        return [(i, j) for i, j in self.edges if self.nodes[i].walked and self.nodes[j].walked]

    def node(self, label: str) -> GraphNode:
        """The first node with this label (e.g. 'Softmax' or a leaf's name)."""
        for node in self.nodes:
            if node.label == label:
                return node
        raise KeyError(f"No node labelled {label!r}; labels: {', '.join(n.label for n in self.nodes)}.")

    def __repr__(self) -> str:
        walked = sum(n.walked for n in self.nodes)
        lines = [f"AutogradGraph: {len(self.nodes)} nodes, {len(self.saved)} saved tensors "
                 f"({len(self.saved) - self.freed_count} held, {self.freed_count} freed)"
                 + (f", {walked} nodes walked by the backward pass" if walked else "")]
        for node in self.nodes:
            inputs = [self.nodes[i].label for i, j in self.edges if j == node.id]
            head = f"  [{node.kind}] {node.label}" + (f" {_shape_text(node.shape)}" if node.shape is not None else "")
            if inputs:
                head += " <- " + ", ".join(inputs)
            if node.walked:
                head += "  (walked)"
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


def _as_outputs(value: Any, what: str) -> list[torch.Tensor]:
    items = [value] if isinstance(value, torch.Tensor) else list(value) if isinstance(value, (list, tuple)) else None
    if not items or not all(isinstance(t, torch.Tensor) for t in items):
        raise TypeError(f"graph_data() needs a tensor or a list of tensors as {what}, got {type(value).__name__}.")
    return items


def _reachable(tensors: Sequence[torch.Tensor]) -> set[int]:
    """Ids of the autograd nodes a backward pass from `tensors` goes through (all of them, down to the leaves)."""
    seen: set[int] = set()
    keep: list[Any] = []  # the nodes stay alive during the walk, so their ids stay unique
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        keep.append(fn)
        stack.extend(child for child, _ in fn.next_functions if child is not None)
    return seen


def graph_data(outputs: torch.Tensor | Sequence[torch.Tensor], *, names: Mapping[str, torch.Tensor] | None = None,
               walked: torch.Tensor | Sequence[torch.Tensor] | None = None) -> AutogradGraph:
    """The autograd graph behind one output or several: operations, leaves (named via `names`), saved tensors.

    `walked`: the output(s) a backward pass started from; the nodes it went through are marked `walked`.
    """
    tensors = _as_outputs(outputs, "outputs")
    for t in tensors:
        if t.grad_fn is None and not t.requires_grad:
            raise ValueError("This tensor has no autograd graph: it does not require grad and has no grad_fn. "
                             "Create the inputs with requires_grad=True before computing it.")
    labels = {id(t): n for n, t in (names or {}).items()}
    walked_ids = _reachable(_as_outputs(walked, "walked")) if walked is not None else set()
    walked_outputs = {id(t) for t in _as_outputs(walked, "walked")} if walked is not None else set()
    nodes: list[dict[str, Any]] = []
    index: dict[int, int] = {}  # id(autograd node) -> position in `nodes`
    keep: list[Any] = []  # holds the autograd nodes so their ids stay unique during the walk
    edges: list[tuple[int, int]] = []

    def add(fn: Any) -> int:
        if id(fn) in index:
            return index[id(fn)]
        keep.append(fn)
        entry: dict[str, Any]
        if type(fn).__name__ == "AccumulateGrad":
            var = fn.variable
            entry = {"kind": "leaf", "label": labels.get(id(var), "leaf"), "op": "AccumulateGrad",
                     "shape": tuple(var.shape), "saved": ()}
        else:
            entry = {"kind": "operation", "label": _op_label(fn), "op": type(fn).__name__, "shape": None,
                     "saved": _saved_tensors(fn)}
        entry["walked"] = id(fn) in walked_ids
        index[id(fn)] = len(nodes)
        nodes.append(entry)
        for child, _ in fn.next_functions:
            if child is not None:
                edge = (add(child), index[id(fn)])
                if edge not in edges:
                    edges.append(edge)
        return index[id(fn)]

    if len(tensors) == 1 and tensors[0].grad_fn is None:  # the output is itself a leaf
        leaf = tensors[0]
        return AutogradGraph((GraphNode(0, "leaf", labels.get(id(leaf), "leaf"), "AccumulateGrad",
                                        tuple(leaf.shape)),), ())
    out_ids = []
    for k, t in enumerate(tensors):
        default = "output" if len(tensors) == 1 else f"output {k}"
        nodes.append({"kind": "output", "label": labels.get(id(t), default), "op": "", "shape": tuple(t.shape),
                      "saved": (), "walked": id(t) in walked_outputs})
        out_ids.append(len(nodes) - 1)
        if t.grad_fn is not None:
            edges.append((add(t.grad_fn), out_ids[-1]))
    keep.clear()  # `add` refers to itself (a reference cycle): let go of the graph now, not at the next gc
    depth = _depths(len(nodes), edges, out_ids)
    return AutogradGraph(tuple(GraphNode(i, depth=depth[i], **entry) for i, entry in enumerate(nodes)),
                         tuple(edges))


def _depths(count: int, edges: list[tuple[int, int]], outputs: list[int]) -> list[int]:
    """Longest number of edges from each node to an output; every output is at depth 0."""
    consumers: dict[int, list[int]] = {i: [] for i in range(count)}
    for src, dst in edges:
        consumers[src].append(dst)
    memo: dict[int, int] = dict.fromkeys(outputs, 0)

    def depth(i: int) -> int:
        if i not in memo:
            memo[i] = 1 + max(depth(j) for j in consumers[i])
        return memo[i]

    return [depth(i) for i in range(count)]


def _layout(graph: AutogradGraph) -> dict[int, tuple[float, float]]:
    """Positions: one column per depth (outputs on the right); each node near the rows of its consumers.

    Rows are 1 apart, more when saved-tensor notes hang under the nodes (so a note never reaches the row below).
    """
    width = max(n.depth for n in graph.nodes)
    gap = 1.0 + 0.4 * max((len(n.saved) for n in graph.nodes), default=0)
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
            pos[i] = (float(width - col), centre + gap * ((len(ordered) - 1) / 2 - k))
    return pos


_KIND_COLOUR = {"leaf": "blue", "operation": "orange", "output": "green"}
_ARROW = "#444444"
_WALKED = "purple"
_FREED = "#777777"


class _ArrowHandler(HandlerPatch):
    """Legend entries drawn as the figure's own arrows (pointing left, the way the backward pass walks)."""

    def create_artists(self, legend: Any, orig_handle: Any, xdescent: float, ydescent: float, width: float,
                       height: float, fontsize: float, trans: Any) -> list[Any]:
        arrow = FancyArrowPatch((width - xdescent, height / 2 - ydescent), (-xdescent, height / 2 - ydescent),
                                arrowstyle="-|>", mutation_scale=8, color=orig_handle.get_edgecolor(),
                                linewidth=orig_handle.get_linewidth(), transform=trans)
        return [arrow]


def _note(saved: SavedTensor) -> tuple[str, dict[str, Any]]:
    """A saved tensor's note under its node: a small white box, vermillion while held, grey dashed once freed."""
    if saved.freed:
        return f"{saved.name}: freed", {"color": _FREED, "fontstyle": "italic",
                                        "bbox": {"boxstyle": "round,pad=0.3", "facecolor": "white",
                                                 "edgecolor": _FREED, "linestyle": "--", "linewidth": 1.0}}
    return f"saves {saved.name}\n{_shape_text(saved.shape)}", {
        "color": color("vermillion"), "fontstyle": "normal",
        "bbox": {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": color("vermillion"),
                 "linewidth": 1.0}}


def draw_graph(output: torch.Tensor | Sequence[torch.Tensor] | AutogradGraph, ax: Axes, *,
               names: Mapping[str, torch.Tensor] | None = None, title: str | None = None,
               legend: bool = True) -> Axes:
    """Draw an autograd graph on `ax`: leaves left, outputs right, arrows the way the backward pass walks.

    `output` is an `AutogradGraph` (from `graph_data`, e.g. with several outputs or a walked path) or the
    tensor(s) to read one from. Nodes a backward pass went through, and the arrows it followed, are purple.
    """
    graph = output if isinstance(output, AutogradGraph) else graph_data(output, names=names)
    pos = _layout(graph)
    artists = {}
    for node in graph.nodes:
        c = color(_KIND_COLOUR[node.kind])
        text = node.label + (f"\n{_shape_text(node.shape)}" if node.shape is not None else "")
        edge = color(_WALKED) if node.walked else c
        artists[node.id] = ax.text(*pos[node.id], text, ha="center", va="center", fontsize=10, zorder=3,
                                   bbox={"boxstyle": "round,pad=0.55", "facecolor": c + "33", "edgecolor": edge,
                                         "linewidth": 2.6 if node.walked else 1.5})
        for k, saved in enumerate(node.saved):
            note, style = _note(saved)
            ax.annotate(note, xy=(0.5, 0.0), xycoords=artists[node.id], xytext=(0, -8 - 27 * k),
                        textcoords="offset points", ha="center", va="top", fontsize=8, zorder=3, **style)
    walked = set(graph.walked_edges)
    for src, dst in graph.edges:
        # from the consumer back to its input: the direction of grad_fn.next_functions
        on_path = (src, dst) in walked
        ax.annotate("", xy=(1.0, 0.5), xycoords=artists[src], xytext=(0.0, 0.5), textcoords=artists[dst],
                    arrowprops={"arrowstyle": "-|>", "color": color(_WALKED) if on_path else _ARROW,
                                "linewidth": 2.4 if on_path else 1.2, "shrinkA": 3, "shrinkB": 3}, zorder=2)
    xs, ys = [x for x, _ in pos.values()], [y for _, y in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    # room under the lowest row for its saved-tensor notes (one more note, a little more room)
    notes = max(len(n.saved) for n in graph.nodes if pos[n.id][1] == min(ys))
    ax.set_ylim(min(ys) - 0.6 - 0.38 * max(notes - 1, 0), max(ys) + 0.4)
    ax.set_axis_off()
    if legend:
        ax.legend(handles=_legend_handles(graph), handler_map={FancyArrowPatch: _ArrowHandler()},
                  loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False, fontsize=8)
    held = len(graph.saved) - graph.freed_count
    ax.set_title(title if title is not None else
                 f"{held} saved tensor(s) held, {graph.freed_count} freed", fontsize=11)
    return ax


def _legend_handles(graph: AutogradGraph) -> list[Any]:
    handles: list[Any] = [Patch(facecolor=color(_KIND_COLOUR[k]) + "33", edgecolor=color(_KIND_COLOUR[k]), label=text)
                          for k, text in (("leaf", "leaf (requires_grad)"),
                                          ("operation", "backward node (grad_fn) of an operation"),
                                          ("output", "output tensor"))]
    handles.append(FancyArrowPatch((0, 0), (1, 0), color=_ARROW, linewidth=1.2,
                                   label="backward pass: node → its inputs"))
    if any(n.walked for n in graph.nodes):
        handles.append(FancyArrowPatch((0, 0), (1, 0), color=color(_WALKED), linewidth=2.4,
                                       label="walked by the backward pass"))
    handles += [Patch(facecolor="white", edgecolor=color("vermillion"), label="saved tensor, held"),
                Patch(facecolor="white", edgecolor=_FREED, linestyle="--", label="saved tensor, freed")]
    return handles
