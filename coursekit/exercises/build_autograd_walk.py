"""Exercises of 08_build_autograd, part 2: walking the graph (order, accumulation, freeing, retain_graph).

The learner's backward passes run on the course engine's graphs. A case passes a *program* (a
registered function that builds a single number from engine Tensors, written with operators and
methods, so the same program runs on torch tensors too) and the input values; the learner's adapter
(`engine_gradients` or `backward_twice`, given in the notebook) builds the leaves, runs the learner's
backward and returns the leaves' gradients as torch tensors: plain data for check() and the grader.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from coursekit.engine.backward import backward_twice as two_backward_passes
from coursekit.engine.backward import gradients, inputs_of
from coursekit.engine.tensor import Tensor
from coursekit.exercises._engine_programs import (
    CHAIN,
    MLP,
    NOTHING_SAVED,
    PROGRAMS,
    RESIDUAL,
    REUSE,
    SOFTMAX,
    SQUARE,
    TWO_USES,
    random_case,
)
from coursekit.exercises.cases import tensor
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.rules import no_autograd
from coursekit.i18n import N_

NOTEBOOK = "08_build_autograd"

OWN_ENGINE = no_autograd(N_("compute every gradient with the engine's VJPs: no torch autograd (no backward() on "
                            "torch tensors, torch.autograd.grad or requires_grad)."))
GRAD_NAMES = (N_("grad of values[0]"), N_("grad of values[1]"), N_("grad of values[2]"))


# --- topological_order --------------------------------------------------------------------------------------

def topological_order(inputs, output):
    """Reference: the nodes that have inputs, output first, each one before all of its inputs."""
    finished, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        for child in inputs[node]:
            visit(child)
        finished.append(node)  # after all of its inputs: depth-first post-order

    visit(output)
    # reversed, every node comes before its inputs; leaves have no VJP to run
    return [node for node in reversed(finished) if inputs[node]]


def _order_public() -> list[Case]:
    chain = {"loss": ["exp"], "exp": ["mul"], "mul": ["x", "w"], "x": [], "w": []}
    reuse = {"x": [], "exp": ["x"], "log": ["exp"], "add": ["exp", "log"], "sum": ["add"]}
    residual = {"loss": ["add"], "add": ["matmul2", "relu"], "matmul2": ["relu", "W2"], "relu": ["matmul1"],
                "matmul1": ["x", "W1"], "x": [], "W1": [], "W2": []}
    shortcuts = {"f": ["e", "b"], "e": ["d", "x"], "d": ["c", "a"], "c": ["b"], "b": ["a"], "a": ["x"], "x": []}
    return [
        Case((chain, "loss"), label="a chain: loss = exp(x * w)"),
        Case((reuse, "sum"), label="e = exp(x) used twice: sum(e + log(e))"),
        Case((residual, "loss"), label="a residual connection: relu's output is used by two nodes"),
        Case((shortcuts, "f"), label="a chain f, e, d, c, b, a with shortcuts"),
    ]


_OP_NAMES = ("add", "mul", "exp", "log", "sum", "relu", "matmul", "softmax", "div", "neg")


def _order_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        count = int(rng.integers(3, 9))
        ops = [f"{_OP_NAMES[int(i) % len(_OP_NAMES)]}{k}" for k, i in enumerate(rng.permutation(count))]
        inputs: dict[str, list[str]] = {op: [] for op in ops}
        for i in range(count - 1):  # a chain through every operation fixes one order...
            inputs[ops[i]].append(ops[i + 1])
            for j in range(i + 2, count):  # ...that shortcuts do not change
                if rng.random() < 0.3:
                    inputs[ops[i]].append(ops[j])
        leaves = ["x", "w", "b"][:int(rng.integers(1, 4))]
        inputs[ops[-1]].append(leaves[0])
        for leaf in leaves[1:]:
            inputs[ops[int(rng.integers(0, count))]].append(leaf)
        graph = {name: [inputs[name][int(k)] for k in rng.permutation(len(inputs[name]))] for name in ops}
        graph.update({leaf: [] for leaf in leaves})
        keys = [list(graph)[int(k)] for k in rng.permutation(len(graph))]
        cases.append(Case(({k: graph[k] for k in keys}, ops[0]),
                          label=N_("a random graph of 3 to 8 operations with shortcuts and 1 to 3 leaves")))
    return cases


def _ops_of(case: Case, got: Any) -> list[Any] | None:
    inputs = case.args[0]
    if not isinstance(got, (list, tuple)):
        return None
    return [n for n in got if isinstance(n, str) and inputs.get(n)]


def _listed_twice(case: Case, expected: Any, got: Any) -> bool:
    return isinstance(got, (list, tuple)) and len({str(n) for n in got}) < len(got)


def _leaves_first(case: Case, expected: Any, got: Any) -> bool:
    ops = _ops_of(case, got)
    return ops is not None and len(expected) > 1 and ops == list(expected)[::-1]


def _includes_leaves(case: Case, expected: Any, got: Any) -> bool:
    ops = _ops_of(case, got)
    return ops is not None and ops == list(expected) and len(ops) < len(got)


def _before_a_user(case: Case, expected: Any, got: Any) -> bool:
    inputs = case.args[0]
    ops = _ops_of(case, got)
    if ops is None or sorted(ops) != sorted(expected):
        return False
    position = {n: i for i, n in enumerate(ops)}
    return any(position[user] > position[node] for user in ops for node in inputs[user] if node in position)


register(Exercise(
    id="topological_order",
    notebook=NOTEBOOK,
    title=N_("The order backward runs the nodes: a topological sort"),
    signature="topological_order(inputs, output)",
    reference=topological_order,
    public_cases=_order_public,
    hidden_cases=_order_hidden,
    output_names=tuple(f"position {i}" for i in range(12)),
    convention=N_("inputs maps every node's name to the list of its inputs' names (a leaf maps to []); output is a "
                  "name. Return a list of the names of the nodes that have inputs, output first, each node before all "
                  "of its inputs (leave the leaves out). In every case here exactly one such order exists."),
    hints=(
        N_("A node's gradient is complete only once every node that uses it has passed its gradient back, so in the "
           "list every node must come after all of its users, however long the path from the output to it is."),
        N_("Depth-first search helps: call a node finished when all of its inputs are finished. The order in which "
           "nodes finish, reversed, puts every node before its inputs. Keep a set of visited nodes, so a node "
           "reached twice is visited once."),
    ),
    mistakes=(
        Mistake("listed-twice",
                N_("A node appears twice in your list: it was reached along two paths. Keep a set of visited nodes; "
                   "backward runs each node's VJP exactly once, after all of its users."),
                test=_listed_twice),
        Mistake("leaves-first",
                N_("Your list runs from the inputs towards the output, the order of the forward pass. Backward starts "
                   "at the output: reverse it."),
                test=_leaves_first),
        Mistake("includes-leaves",
                N_("Your order is right, but it lists the leaves too. Leaves have no inputs and no VJP to run: leave "
                   "them out."),
                test=_includes_leaves),
        Mistake("before-a-user",
                N_("A node comes before a node that uses it, so when its VJP runs, the gradient from that later user "
                   "has not arrived yet. A breadth-first walk, or a depth-first walk that lists a node when it first "
                   "reaches it, does this wherever a node is reached by a short and a long path. List a node only "
                   "after all of its inputs are finished, then reverse."),
                test=_before_a_user),
    ),
))


# --- engine_gradients: the walk, with accumulation ----------------------------------------------------------

def engine_gradients(program, values):
    """Reference: the leaves' gradients after this backward pass through program(*leaves)."""

    def backward(output, grad=None):
        grads = {output: torch.ones_like(output.value) if grad is None else grad}
        # every node after all of its users, so its gradient is complete when its VJP runs
        for t in topological_order(inputs_of(output), output):
            for inp, g in zip(t.node.inputs, t.node.vjp(grads[t]), strict=True):
                grads[inp] = grads[inp] + g if inp in grads else g  # a tensor used twice: the uses add up
        for t, g in grads.items():
            if t.node is None and t.requires_grad:
                t.grad = g if t.grad is None else t.grad + g

    return gradients(program, values, backward=backward)


def _walk(output: Tensor, grad: Any = None, *, retain_graph: bool = True, order: str = "topological",
          accumulate: bool = True, add_to_grad: bool = True, free: str = "free") -> None:
    """The reference walk with switches, each switch one of the mistakes the recognisers model."""
    grads = {output: torch.ones_like(output.value) if grad is None else grad}
    if order == "topological":
        nodes = topological_order(inputs_of(output), output)
    else:  # breadth-first from the output: a node may run before all of its users have passed their gradient
        nodes, queue, seen = [], deque([output]), {output}
        while queue:
            t = queue.popleft()
            if t.node is not None:
                nodes.append(t)
                for inp in t.node.inputs:
                    if inp not in seen:
                        seen.add(inp)
                        queue.append(inp)
    for t in nodes:
        for inp, g in zip(t.node.inputs, t.node.vjp(grads[t]), strict=True):
            grads[inp] = grads[inp] + g if accumulate and inp in grads else g
        if free == "free" and not retain_graph:
            t.node.free()
        elif free == "always":
            t.node.free()
        elif free == "flag" and not retain_graph:
            t.node.freed = True
    for t, g in grads.items():
        if t.node is None and t.requires_grad:
            t.grad = g if t.grad is None or not add_to_grad else t.grad + g


def _gradients_with(**switches: Any) -> Callable[..., Any]:
    return lambda program, values: gradients(program, values, backward=lambda out: _walk(out, **switches))


def _engine_public() -> list[Case]:
    return [
        Case((SQUARE.fn, (tensor([1.0, 2.0, 3.0]),)), label="x used twice by one multiplication"),
        Case((TWO_USES.fn, (tensor([[1.0, 2.0], [3.0, 4.0]]), tensor([0.5, -1.0]))),
             label="x used by two operations; w broadcast over the rows"),
        Case((REUSE.fn, (tensor([0.5, -1.0, 2.0]),)), label="e = exp(x) reached by a short and a long path"),
        Case((CHAIN.fn, (tensor([1.0, -0.5]), tensor([0.5, 2.0]))), label="w used at two depths"),
        Case((SOFTMAX.fn, (tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]]), tensor([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.0]]))),
             label="a softmax node"),
        Case((MLP.fn, (tensor([[1.0, -1.0], [0.5, 2.0], [-2.0, 1.0]]), tensor([[1.0, -0.5, 0.25], [0.5, 1.0, -1.0]]),
                       tensor([[1.0], [-2.0], [0.5]]))), label="a two-layer ReLU network"),
        Case((RESIDUAL.fn, (tensor([[1.0, 0.5], [-1.0, 2.0]]), tensor([[0.5, -1.0], [1.0, 0.25]]))),
             label="a residual connection: h and w each used twice"),
    ]


def _engine_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        program, values = random_case(rng, PROGRAMS)
        cases.append(Case((program.fn, values), label=N_("one of the notebook's programs on random inputs (sides "
                                                         "1-4)")))
    return cases


YOURS_TO_WRITE = N_("The walk is yours to write: calling output.backward() (or engine.backward) runs the "
                    "course's. Loop over the nodes in topological order and call each node's node.vjp(...).")

register(Exercise(
    id="engine_gradients",
    notebook=NOTEBOOK,
    title=N_("backward(): walk the graph once and add up the gradients"),
    signature="engine_gradients(program, values)",
    reference=engine_gradients,
    public_cases=_engine_public,
    hidden_cases=_engine_hidden,
    output_names=GRAD_NAMES,
    rtol=1e-10,
    atol=1e-12,
    convention=N_("program builds a single number from engine Tensors; engine_gradients makes one leaf (requires_grad="
                  "True) per value, calls your backward(output) once and returns each leaf's .grad. Your backward "
                  "gives every leaf with requires_grad its gradient in .grad (added to what is there); a node's "
                  "t.node.vjp(g) returns one gradient per input in t.node.inputs; grad=None means d output/d output = "
                  "1."),
    rules=(OWN_ENGINE,),
    hints=(
        N_("A node can run its VJP only once its own gradient is complete: after every node that uses its output "
           "has passed its gradient back. A tensor used twice receives two gradients, and they add up."),
        N_("Keep a dict from tensor to gradient, starting with the output's. Walk the nodes in topological order "
           "(your `topological_order` works on `engine.inputs_of(output)`), add each VJP result into the dict, and "
           "at the end add each leaf's gradient into its `.grad`."),
    ),
    mistakes=(
        Mistake("overwritten",
                N_("Where a tensor is used twice your gradient holds only one of the two uses ((x * x).sum() gave x "
                   "instead of 2x): a second gradient replaced the first. Add it to what is there instead."),
                wrong=_gradients_with(accumulate=False)),
        Mistake("breadth-first",
                N_("exp's VJP ran before log had passed back its gradient: a node reached by a short and a long path "
                   "must wait for both. Walk in topological order (each node after all of its users), not "
                   "breadth-first."),
                wrong=_gradients_with(order="breadth-first")),
        Mistake("course-backward", YOURS_TO_WRITE, raised="yours to write"),
    ),
))


# --- backward_twice: freeing and retain_graph ---------------------------------------------------------------

def backward_twice(program, values, retain_graph):
    """Reference: the leaves' .grad after a first backward (with retain_graph) and a second one, or "freed"."""

    def backward_freeing(output, grad=None, retain_graph=False):
        grads = {output: torch.ones_like(output.value) if grad is None else grad}
        for t in topological_order(inputs_of(output), output):
            for inp, g in zip(t.node.inputs, t.node.vjp(grads[t]), strict=True):
                grads[inp] = grads[inp] + g if inp in grads else g
            if not retain_graph:
                t.node.free()  # this node's VJP has run: release what it saved
        for t, g in grads.items():
            if t.node is None and t.requires_grad:
                t.grad = g if t.grad is None else t.grad + g

    return two_backward_passes(program, values, retain_graph=retain_graph, backward=backward_freeing)


def _twice_with(**switches: Any) -> Callable[..., Any]:
    def run(program, values, retain_graph):
        return two_backward_passes(program, values, retain_graph=retain_graph,
                                   backward=lambda out, grad=None, retain_graph=False:
                                   _walk(out, grad, retain_graph=retain_graph, **switches))
    return run


def _twice_public() -> list[Case]:
    x, w = tensor([1.0, -0.5]), tensor([0.5, 2.0])
    return [
        Case((CHAIN.fn, (x, w), False), label="mul and exp saved tensors; no retain_graph: the second pass fails"),
        Case((CHAIN.fn, (x, w), True), label="the same graph with retain_graph=True: .grad doubles"),
        Case((NOTHING_SAVED.fn, (tensor([[1.0, 2.0]]), tensor([3.0, -1.0])), False),
             label="add and sum save no tensor: a second pass runs"),
        Case((SQUARE.fn, (tensor([1.0, 2.0, 3.0]),), False), label="x * x saved x: the second pass fails"),
        Case((SOFTMAX.fn, (tensor([[1.0, 2.0, 0.5]]), tensor([[1.0, 0.0, 2.0]])), True),
             label="softmax saved p; retain_graph=True keeps it"),
        Case((MLP.fn, (tensor([[1.0, -1.0]]), tensor([[1.0, -0.5], [0.5, 1.0]]), tensor([[1.0], [-2.0]])), False),
             label="a two-layer ReLU network, no retain_graph"),
        Case((REUSE.fn, (tensor([0.5, -1.0, 2.0]),), False),
             label="exp's output reached along two paths: the first pass must still run each node once"),
    ]


def _twice_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        program, values = random_case(rng, PROGRAMS)
        cases.append(Case((program.fn, values, bool(rng.random() < 0.5)),
                          label=N_("one of the notebook's programs on random inputs, retain_graph True or False")))
    return cases


register(Exercise(
    id="backward_twice",
    notebook=NOTEBOOK,
    title=N_("Free what a node saved once its VJP has run, unless retain_graph"),
    signature="backward_twice(program, values, retain_graph)",
    reference=backward_twice,
    public_cases=_twice_public,
    hidden_cases=_twice_hidden,
    output_names=GRAD_NAMES,
    rtol=1e-10,
    atol=1e-12,
    convention=N_("backward_twice builds the graph once, calls your backward_freeing(output, "
                  "retain_graph=retain_graph), "
                  "then backward_freeing(output) again, and returns {'first backward': the leaves' .grad, 'second "
                  "backward': the leaves' .grad, or 'freed' if that call raised the engine's GraphFreedError}. "
                  "node.free() releases a node's saved values."),
    rules=(OWN_ENGINE,),
    hints=(
        N_("Once a node's VJP has run, this backward pass will not need that node's saved values again; PyTorch frees "
           "them right there, unless the caller asked to keep them with `retain_graph=True`."),
        N_("The walk is the one of your backward; after each node's VJP, free the node when retain_graph is False. A "
           "later pass through a freed node then raises GraphFreedError by itself, and a node that saved nothing "
           "stays usable, as in PyTorch."),
    ),
    mistakes=(
        Mistake("never-frees",
                N_("Your engine never frees anything, so a second backward through nodes that saved tensors ran. "
                   "After a node's VJP has run, free its saved values with node.free(), unless retain_graph=True."),
                wrong=_twice_with(free="never")),
        Mistake("ignores-retain-graph",
                N_("retain_graph=True must keep the saved values for a later pass, but your engine freed them anyway: "
                   "free a node only when retain_graph is False."),
                wrong=_twice_with(free="always")),
        Mistake("grad-replaced",
                N_("After the second pass .grad should hold the sum of both passes (PyTorch adds into .grad, it does "
                   "not overwrite it); yours holds only the last one. Add the new gradient to the leaf's .grad."),
                wrong=_twice_with(free="free", add_to_grad=False)),
        Mistake("freed-without-saves",
                N_("A graph whose nodes saved nothing (add and sum keep only shapes) has nothing to free, so a second "
                   "backward through it runs, in PyTorch and in this engine. Use node.free(), which releases what was "
                   "saved and leaves a node that saved nothing usable, instead of marking nodes as freed yourself."),
                wrong=_twice_with(free="flag")),
        Mistake("freed-too-early",
                N_("Your first backward already ran into freed values: a node was freed before its VJP had used them, "
                   "or your walk runs a node's VJP more than once (once per path, as a recursive walk does). Walk in "
                   "topological order, so each node runs once, after all of its users, and free it right after."),
                raised="were already freed"),
        Mistake("course-backward", YOURS_TO_WRITE, raised="yours to write"),
    ),
))
