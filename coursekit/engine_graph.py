"""Step through the tiny engine's backward pass: which node ran, what reached the leaves, what was freed.

`backward_steps(output)` runs `coursekit.engine`'s backward pass on `output` with a hook and records a
`Step` before it and after every node: the graph (leaves, operations, the output), which nodes' VJPs
have run, every node's saved values (held or freed) and how many of its uses each leaf has heard from.
Optionally a second backward pass follows and the step where it fails is recorded too. `draw_step`
draws one step in the style of `coursekit.graph`: leaves blue, operations orange, the output green, a
saved value in vermillion under its node while held and in grey italics once freed. Arrows point the
way the gradient travels, from the output back to the leaves, and turn dark once it has travelled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from coursekit.engine import GraphFreedError, Tensor, backward, inputs_of
from coursekit.engine.backward import topological_order
from coursekit.plots.style import color

__all__ = ["SavedValue", "Step", "StepNode", "backward_steps", "draw_step", "legend_handles"]

Kind = Literal["leaf", "operation", "output"]
_KIND_COLOUR = {"leaf": "blue", "operation": "orange", "output": "green"}
_FREED_GREY = "#777777"
_WAITING = "#c8c8c8"


@dataclass(frozen=True)
class SavedValue:
    """One value a node saved for its VJP: its name, shape and whether it has been freed."""

    name: str
    shape: tuple[int, ...]
    freed: bool


@dataclass(frozen=True)
class StepNode:
    """A box of the drawing: a leaf, an operation (the node that made a tensor) or the output tensor."""

    id: int
    kind: Kind
    label: str
    shape: tuple[int, ...]
    saved: tuple[SavedValue, ...] = ()
    uses: int = 0  # for a leaf: how many inputs of operations it is
    heard: int = 0  # for a leaf: how many of those uses have passed their gradient back so far


@dataclass(frozen=True)
class Step:
    """The graph at one moment of a backward pass."""

    title: str
    nodes: tuple[StepNode, ...]
    edges: tuple[tuple[int, int], ...]  # (input, consumer): the gradient travels consumer -> input
    ran: tuple[int, ...] = ()  # operations whose VJP has run, in order
    current: int | None = None  # the operation that ran (or failed) at this step
    failed: bool = False

    @property
    def current_label(self) -> str:
        """The label of the operation that ran (or failed) at this step, "" before the walk."""
        return next((n.label for n in self.nodes if n.id == self.current), "")

    @property
    def held(self) -> list[tuple[str, str]]:
        """(node label, saved name) of every saved value still held."""
        return [(n.label, s.name) for n in self.nodes for s in n.saved if not s.freed]

    def __repr__(self) -> str:
        held = ", ".join(f"{node}.{name}" for node, name in self.held) or "nothing"
        leaves = ", ".join(f"{n.label} {n.heard}/{n.uses}" for n in self.nodes if n.kind == "leaf")
        return f"{self.title}\n  saved values held: {held}\n  leaf gradients (uses heard from): {leaves}"


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class _Recorder:
    """Snapshots of the graph behind `output` while the engine walks it."""

    def __init__(self, output: Tensor, names: Mapping[str, Tensor]) -> None:
        self.output = output
        graph = inputs_of(output)
        self.tensors = topological_order(graph, output)  # output first, leaves last
        self.index = {t: i + 1 for i, t in enumerate(self.tensors)}  # 0 is the output box
        label_of = {id(t): n for n, t in names.items()}
        self.out_label = label_of.get(id(output), "output")
        self.leaf_label = {t: label_of.get(id(t), t.name or "leaf") for t in self.tensors if t.node is None}
        self.edges: list[tuple[int, int]] = [(self.index[output], 0)]
        self.uses = dict.fromkeys(self.leaf_label, 0)
        for t in self.tensors:
            if t.node is not None:
                for inp in t.node.inputs:
                    if inp in self.leaf_label:
                        self.uses[inp] += 1
                    if (self.index[inp], self.index[t]) not in self.edges:
                        self.edges.append((self.index[inp], self.index[t]))
        self.ran: list[Tensor] = []

    def snapshot(self, title: str, *, current: Tensor | None = None, failed: bool = False) -> Step:
        nodes = [StepNode(0, "output", self.out_label, tuple(self.output.shape))]
        for t in self.tensors:
            if t.node is None:
                heard = sum(inp is t for r in self.ran if r.node is not None for inp in r.node.inputs)
                nodes.append(StepNode(self.index[t], "leaf", self.leaf_label[t], tuple(t.shape),
                                      uses=self.uses[t], heard=heard))
            else:
                held = t.node.saved
                saved = tuple(SavedValue(name, tuple(held[name].shape) if name in held else (), name not in held)
                              for name in t.node.saved_names)
                nodes.append(StepNode(self.index[t], "operation", t.node.label, tuple(t.shape), saved))
        return Step(title, tuple(nodes), tuple(self.edges), tuple(self.index[r] for r in self.ran),
                    None if current is None else self.index[current], failed)


def backward_steps(output: Tensor, *, names: Mapping[str, Tensor] | None = None, retain_graph: bool = False,
                   second_pass: bool = False) -> list[Step]:
    """Run the engine's backward on `output` (it fills the leaves' .grad) and record each step of it.

    With `second_pass`, a second backward follows; if it fails, the step where it failed is the last one.
    """
    recorder = _Recorder(output, names or {})
    steps = [recorder.snapshot("before backward: every saved value is held")]

    def hook(t: Tensor) -> None:
        node = t.node
        assert node is not None, "the engine calls the hook only for tensors an operation made"
        recorder.ran.append(t)
        freed = ", ".join(node.saved_names) if node.freed and node.saved_names else ""
        what = f"freed {freed}" if freed else ("kept its saved values" if node.saved_names else "saved nothing")
        steps.append(recorder.snapshot(f"{len(recorder.ran)}. {node.label}'s VJP ran: {what}", current=t))

    backward(output, retain_graph=retain_graph, hook=hook)
    if second_pass:
        recorder.ran = []
        try:
            backward(output, hook=recorder.ran.append)
        except GraphFreedError:
            # the walk stopped at the first node (in its order) whose VJP needed values already freed
            stuck = next(t for t in recorder.tensors if t.node is not None and t not in recorder.ran)
            label = stuck.node.label if stuck.node is not None else "?"
            steps.append(recorder.snapshot(f"2nd backward: {label}'s saved values are gone",
                                           current=stuck, failed=True))
        else:
            steps.append(recorder.snapshot("2nd backward: it ran (nothing it needed was freed)"))
    return steps


def _layout(step: Step) -> dict[int, tuple[float, float]]:
    """One column per distance from the output (output on the right), each node near its consumers' rows."""
    consumers: dict[int, list[int]] = {n.id: [] for n in step.nodes}
    for src, dst in step.edges:
        consumers[src].append(dst)
    depth: dict[int, int] = {0: 0}

    def longest(i: int) -> int:
        if i not in depth:
            depth[i] = 1 + max(longest(j) for j in consumers[i])
        return depth[i]

    for node in step.nodes:
        longest(node.id)
    # leaves share the leftmost column
    width = max(depth.values())
    for node in step.nodes:
        if node.kind == "leaf":
            depth[node.id] = width
    pos: dict[int, tuple[float, float]] = {}
    for col in range(width + 1):
        ids = [n.id for n in step.nodes if depth[n.id] == col]
        wanted = {i: sum(pos[j][1] for j in consumers[i]) / len(consumers[i]) if consumers[i] else 0.0 for i in ids}
        ordered = sorted(ids, key=lambda i: -wanted[i])
        centre = sum(wanted.values()) / len(ids)
        for k, i in enumerate(ordered):
            pos[i] = (float(width - col), centre + (len(ordered) - 1) / 2 - k)
    return pos


def _notes(node: StepNode) -> list[tuple[str, str, str]]:
    """(text, colour, style) lines written under a node."""
    if node.kind == "leaf":
        if node.heard == 0:
            return [("no gradient yet", _FREED_GREY, "italic")]
        if node.heard == node.uses:
            return [(f"grad complete ({node.uses} use{'s' if node.uses > 1 else ''})", color("blue"), "normal")]
        return [(f"grad from {node.heard} of {node.uses} uses", color("blue"), "normal")]
    if node.kind == "operation" and not node.saved:
        return [("nothing saved", _FREED_GREY, "italic")]
    return [(f"{s.name} freed", _FREED_GREY, "italic") if s.freed else (f"{s.name} {_shape(s.shape)}",
            color("vermillion"), "normal") for s in node.saved]


def draw_step(step: Step, ax: Axes, *, title: str | None = None, legend: bool = False) -> Axes:
    """Draw one step of a backward pass on `ax`: leaves left, output right, the gradient flowing leftwards."""
    pos = _layout(step)
    done = set(step.ran) | ({0} if step.ran or step.current is not None else set())
    boxes: dict[int, Artist] = {}
    for node in step.nodes:
        c = color(_KIND_COLOUR[node.kind])
        mark = " ✓" if node.id in step.ran else ""
        edge = color("vermillion") if step.failed and node.id == step.current else \
            ("#222222" if node.id == step.current else c)
        boxes[node.id] = ax.text(*pos[node.id], f"{node.label}{mark}\n{_shape(node.shape)}", ha="center",
                                 va="center", fontsize=9, zorder=3,
                                 bbox={"boxstyle": "round,pad=0.4", "facecolor": c + "33", "edgecolor": edge,
                                       "linewidth": 3.0 if node.id == step.current else 1.5})
        # notes go under the box, except for a leaf above its users: arrows arrive there from below
        above = node.kind == "leaf" and pos[node.id][1] > min(pos[j][1] for i, j in step.edges if i == node.id)
        for k, (text, colour, style) in enumerate(_notes(node)):
            ax.annotate(text, xy=(0.5, 1.0 if above else 0.0), xycoords=boxes[node.id],
                        xytext=(0, 5 + 11 * k if above else -5 - 11 * k), textcoords="offset points",
                        ha="center", va="bottom" if above else "top", fontsize=7.5, color=colour,
                        fontstyle=style, zorder=3)
    for src, dst in step.edges:
        travelled = dst in done
        # an arrow that skips a column bends away from the boxes between its ends
        (x0, y0), (x1, y1) = pos[dst], pos[src]
        bend = 0.0 if abs(x1 - x0) <= 1 else (0.25 if y1 >= y0 else -0.25)
        ax.annotate("", xy=(1.0, 0.5), xycoords=boxes[src], xytext=(0.0, 0.5), textcoords=boxes[dst],
                    arrowprops={"arrowstyle": "-|>", "color": "#333333" if travelled else _WAITING,
                                "linewidth": 1.6 if travelled else 1.0, "linestyle": "-" if travelled else "--",
                                "shrinkA": 3, "shrinkB": 3, "connectionstyle": f"arc3,rad={bend}"}, zorder=2)
    xs, ys = [x for x, _ in pos.values()], [y for _, y in pos.values()]
    notes = max(len(_notes(n)) for n in step.nodes if pos[n.id][1] == min(ys))
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.6 - 0.2 * max(notes - 1, 0), max(ys) + 0.6)
    ax.set_axis_off()
    ax.set_title(step.title if title is None else title, fontsize=9.5,
                 color=color("vermillion") if step.failed else "black")
    if legend:
        ax.legend(handles=legend_handles([step]), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
                  frameon=False, fontsize=8)
    return ax


def legend_handles(steps: Sequence[Step] | None = None) -> list[Artist]:
    """The legend entries of `draw_step`'s figures (only those that `steps` show, when given)."""
    shown = list(steps) if steps is not None else None

    def any_step(test: Callable[[Step], bool]) -> bool:
        return shown is None or any(test(s) for s in shown)

    def any_saved(freed: bool) -> bool:
        return any_step(lambda s: any(v.freed == freed for n in s.nodes for v in n.saved))

    entries: list[tuple[bool, Artist]] = [
        (True, Patch(facecolor=color("blue") + "33", edgecolor=color("blue"), label="leaf (requires_grad)")),
        (True, Patch(facecolor=color("orange") + "33", edgecolor=color("orange"), label="operation (its node)")),
        (True, Patch(facecolor=color("green") + "33", edgecolor=color("green"), label="output tensor")),
        (any_step(lambda s: bool(s.ran) or s.current is not None),
         Line2D([], [], color="#333333", linewidth=1.6, label="gradient has travelled")),
        (True, Line2D([], [], color=_WAITING, linewidth=1.0, linestyle="--", label="gradient not yet")),
        (any_step(lambda s: s.current is not None and not s.failed),
         Patch(facecolor="white", edgecolor="#222222", linewidth=3.0, label="node whose VJP just ran (✓ done)")),
        (any_step(lambda s: s.failed),
         Patch(facecolor="white", edgecolor=color("vermillion"), linewidth=3.0,
               label="node that found its values freed")),
        (any_saved(False), Line2D([], [], color=color("vermillion"), marker="$a$", linestyle="",
                                  label="saved value, held")),
        (any_saved(True), Line2D([], [], color=_FREED_GREY, marker="$a$", linestyle="", label="saved value, freed")),
    ]
    return [artist for keep, artist in entries if keep]
