"""A tiny reverse-mode autograd over torch tensors, built in notebook 08 to see autograd's design choices.

Operations on `Tensor`s record `Node`s that save what their vector–Jacobian product needs; `backward`
walks the graph once in topological order, adds up gradients where a tensor is used twice, and frees
the saved values (a second backward then raises `GraphFreedError`) unless `retain_graph=True`. With
`create_graph=True` the VJPs run on engine Tensors, so the backward pass is itself a graph and can be
differentiated again. torch's own autograd takes no part: values never require grad.
"""

from coursekit.engine import vjps
from coursekit.engine.backward import backward, backward_twice, grad, gradients, inputs_of
from coursekit.engine.tensor import GraphFreedError, Node, Tensor
from coursekit.engine.vjps import SAVES

# unbroadcast and the topological sort stay in their modules (coursekit.engine.vjps, .backward) rather than
# here: the notebook asks the learner to write them.
__all__ = ["SAVES", "GraphFreedError", "Node", "Tensor", "backward", "backward_twice", "grad", "gradients",
           "inputs_of", "vjps"]
