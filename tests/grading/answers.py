"""Learner answers that test the rules: for each exercise with rules, answers that break them and one
differently written right answer, as notebook source (so check() and the batch grader get the same code).

`BREAKS[id]` is a list of (source, index of the rule it breaks); `RIGHT[id]` is a correct answer
written unlike the reference.
"""

from __future__ import annotations

BREAKS: dict[str, list[tuple[str, int]]] = {
    "numerical_gradient": [("""
def numerical_gradient(f, x, h=1e-5):
    x = x.detach().clone().requires_grad_(True)
    return torch.autograd.grad(f(x), x)[0]
""", 0)],
    "grad_f": [("""
def grad_f(p):
    p = p.clone().requires_grad_()
    (x2y_plus_sin := p[0] ** 2 * p[1] + torch.sin(p[1])).backward()
    return p.grad
""", 0)],
    "gradient_descent": [("""
def gradient_descent(f, x0, lr, steps, h=1e-6):
    points = [x0.clone()]
    x = x0.clone()
    for _ in range(steps):
        eye = torch.eye(x.numel(), dtype=x.dtype)
        g = torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in eye])
        x = x - lr * g
        points.append(x)
    return torch.stack(points)
""", 0)],
    "hessian": [("""
def hessian(f, x):
    return torch.autograd.functional.hessian(f, x)
""", 0), ("""
def hessian(f, x, h=1e-5):
    def grad(p):
        p = p.detach().clone().requires_grad_(True)
        return torch.autograd.grad(f(p), p)[0]
    eye = torch.eye(x.numel(), dtype=x.dtype)
    return torch.stack([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in eye])
""", 1)],
    "momentum_descent": [("""
def momentum_descent(f, x0, lr, beta, steps, h=1e-6):
    x, buf, points = x0.clone(), torch.zeros_like(x0), [x0.clone()]
    for _ in range(steps):
        eye = torch.eye(x.numel(), dtype=x.dtype)
        g = torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in eye])
        buf = beta * buf + g
        x = x - lr * buf
        points.append(x)
    return torch.stack(points)
""", 0)],
    "sigmoid": [("""
def sigmoid(x):
    return torch.sigmoid(x)
""", 0), ("""
import torch.nn.functional as F

def sigmoid(x):
    return F.sigmoid(x)
""", 0)],
    "sigmoid_grad": [("""
def sigmoid_grad(x):
    x = x.clone().requires_grad_(True)
    torch.sigmoid(x).sum().backward()
    return x.grad
""", 0)],
    "tanh_grad": [("""
def tanh_grad(x):
    x = x.detach().clone().requires_grad_(True)
    return torch.autograd.grad(torch.tanh(x), x, grad_outputs=torch.ones_like(x))[0]
""", 0)],
    "relu_grad": [("""
def relu_grad(x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.relu(x).sum(), x)
    return g
""", 0)],
    "softplus": [("""
import torch.nn.functional as F

def softplus(x):
    return F.softplus(x)
""", 0), ("""
def softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))
""", 0)],
    "leaky_relu": [("""
def leaky_relu(x, negative_slope=0.01):
    return torch.nn.LeakyReLU(negative_slope)(x)
""", 0)],
    "elu": [("""
import torch.nn.functional as F

def elu(x, alpha=1.0):
    return F.elu(x, alpha)
""", 0)],
    "mse": [("""
def mse(pred, target):
    return torch.nn.MSELoss()(pred, target)
""", 0)],
    "mse_grad": [("""
def mse_grad(pred, target):
    pred = pred.clone().requires_grad_(True)
    ((pred - target) ** 2).mean().backward()
    return pred.grad
""", 0)],
    "kl_divergence": [("""
import torch.nn.functional as F

def kl_divergence(p, q):
    return F.kl_div(torch.log(q), p, reduction="none").sum(-1)
""", 0)],
    "cross_entropy": [("""
def cross_entropy(logits, target):
    return torch.nn.CrossEntropyLoss()(logits, target)
""", 0), ("""
def cross_entropy(logits, target):
    return (torch.logsumexp(logits, dim=1) - logits[torch.arange(len(target)), target]).mean()
""", 0)],
    "binary_cross_entropy_with_logits": [("""
import torch.nn.functional as F

def binary_cross_entropy_with_logits(logits, target):
    return F.binary_cross_entropy_with_logits(logits, target)
""", 0), ("""
import torch.nn.functional as F

def binary_cross_entropy_with_logits(logits, target):
    return (F.softplus(logits) - target * logits).mean()
""", 0)],
    "softmax": [("""
def softmax(z, dim=-1):
    return z.softmax(dim)
""", 0), ("""
def softmax(z, dim=-1):
    return torch.log_softmax(z, dim=dim).exp()
""", 0)],
    "softmax_with_temperature": [("""
def softmax_with_temperature(z, temperature):
    return torch.nn.Softmax(dim=-1)(z / temperature)
""", 0)],
    "softmax_jacobian": [("""
def softmax_jacobian(z):
    return torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), z)
""", 0)],
    "softmax_cross_entropy_grad": [("""
import torch.nn.functional as F

def softmax_cross_entropy_grad(logits, target):
    logits = logits.clone().requires_grad_(True)
    F.cross_entropy(logits, target).backward()
    return logits.grad
""", 0)],
    "two_output_grads": [("""
def two_output_grads(a):
    p = torch.softmax(a, dim=0)
    rows = torch.diag(p) - torch.outer(p, p)
    return rows[1], rows[2]
""", 0), ("""
def two_output_grads(a):
    a = a.detach().clone().requires_grad_(True)
    (g1,) = torch.autograd.grad(torch.softmax(a, dim=0)[1], a)
    (g2,) = torch.autograd.grad(torch.softmax(a, dim=0)[2], a)
    return g1, g2
""", 1)],
    "sgd_steps": [("""
def sgd_steps(w0, x, y, lr, steps):
    w = w0.clone()
    for _ in range(steps):
        w = w - lr * 2 / x.shape[0] * x.T @ (x @ w - y)
    return w
""", 0)],
    "second_derivative": [("""
def second_derivative(f, x, h=1e-4):
    return float((f(x + h) - 2 * f(x) + f(x - h)) / h ** 2)
""", 0)],
    "linear_backward": [("""
def linear_backward(x, W, b, grad_out):
    x, W, b = (t.detach().clone().requires_grad_(True) for t in (x, W, b))
    (x @ W.T + b).backward(grad_out)
    return x.grad, W.grad, b.grad
""", 0)],
    "mlp_backward": [("""
def mlp_backward(x, y, W1, b1, W2, b2):
    params = [t.detach().clone().requires_grad_(True) for t in (W1, b1, W2, b2)]
    out = torch.relu(x @ params[0].T + params[1]) @ params[2].T + params[3]
    return tuple(torch.autograd.grad(((out - y) ** 2).mean(), params))
""", 0)],
    "unbroadcast": [("""
def unbroadcast(grad, shape):
    x = torch.zeros(shape, dtype=grad.dtype, requires_grad=True)
    return torch.autograd.grad(x.expand(grad.shape), x, grad_outputs=grad)[0]
""", 0), ("""
def unbroadcast(grad, shape):
    return grad.sum_to_size(shape)
""", 1)],
    "mul_vjp": [("""
def mul_vjp(grad, a, b):
    a, b = a.clone().requires_grad_(), b.clone().requires_grad_()
    return torch.autograd.grad(a * b, (a, b), grad_outputs=grad)
""", 0)],
    "matmul_vjp": [("""
def matmul_vjp(grad, a, b):
    a, b = a.clone().requires_grad_(), b.clone().requires_grad_()
    return torch.autograd.grad(a @ b, (a, b), grad_outputs=grad)
""", 0)],
    "softmax_vjp": [("""
def softmax_vjp(grad, p):
    z = p.log().requires_grad_()  # softmax(log p) = p, so z is a set of logits for p
    return torch.autograd.grad(torch.softmax(z, dim=-1), z, grad_outputs=grad)[0]
""", 0)],
    "engine_gradients": [("""
from coursekit import engine

TORCH_OPS = {"add": torch.add, "mul": torch.mul, "matmul": torch.matmul, "exp": torch.exp, "log": torch.log,
             "relu": torch.relu, "neg": torch.neg, "sum": torch.sum, "transpose": lambda a: a.mT,
             "softmax": lambda a: torch.softmax(a, dim=-1)}

def torch_backward(output, grad=None, retain_graph=False):
    # every node's VJP left to torch's autograd, on a copy of the node's inputs
    order, seen = [], set()
    def visit(t):
        if t not in seen:
            seen.add(t)
            for i in (t.node.inputs if t.node is not None else ()):
                visit(i)
            order.append(t)
    visit(output)
    grads = {output: torch.ones_like(output.value)}
    for t in reversed(order):
        if t.node is None:
            if t.requires_grad:
                t.grad = grads[t] if t.grad is None else t.grad + grads[t]
            continue
        ins = [i.value.clone().requires_grad_() for i in t.node.inputs]
        vjps = torch.autograd.grad(TORCH_OPS[t.node.op](*ins), ins, grad_outputs=grads[t], allow_unused=True)
        for i, g in zip(t.node.inputs, vjps):
            g = torch.zeros_like(i.value) if g is None else g
            grads[i] = grads[i] + g if i in grads else g
        if not retain_graph:
            t.node.free()

def engine_gradients(program, values):
    return engine.gradients(program, values, backward=torch_backward)
""", 0)],
    "backward_twice": [("""
from coursekit import engine

TORCH_OPS = {"add": torch.add, "mul": torch.mul, "matmul": torch.matmul, "exp": torch.exp, "log": torch.log,
             "relu": torch.relu, "neg": torch.neg, "sum": torch.sum, "transpose": lambda a: a.mT,
             "softmax": lambda a: torch.softmax(a, dim=-1)}

def torch_backward(output, grad=None, retain_graph=False):
    # every node's VJP left to torch's autograd, on a copy of the node's inputs
    order, seen = [], set()
    def visit(t):
        if t not in seen:
            seen.add(t)
            for i in (t.node.inputs if t.node is not None else ()):
                visit(i)
            order.append(t)
    visit(output)
    grads = {output: torch.ones_like(output.value)}
    for t in reversed(order):
        if t.node is None:
            if t.requires_grad:
                t.grad = grads[t] if t.grad is None else t.grad + grads[t]
            continue
        ins = [i.value.clone().requires_grad_() for i in t.node.inputs]
        vjps = torch.autograd.grad(TORCH_OPS[t.node.op](*ins), ins, grad_outputs=grads[t], allow_unused=True)
        for i, g in zip(t.node.inputs, vjps):
            g = torch.zeros_like(i.value) if g is None else g
            grads[i] = grads[i] + g if i in grads else g
        if not retain_graph:
            t.node.free()

def backward_twice(program, values, retain_graph):
    return engine.backward_twice(program, values, retain_graph=retain_graph, backward=torch_backward)
""", 0)],
}

RIGHT: dict[str, str] = {
    "numerical_gradient": """
def numerical_gradient(f, x, h=1e-5):
    eye = torch.eye(x.numel(), dtype=x.dtype)
    slopes = [(f(x + h * e.reshape(x.shape)) - f(x - h * e.reshape(x.shape))) / (2 * h) for e in eye]
    return torch.stack(slopes).reshape(x.shape) if slopes else torch.zeros_like(x)
""",
    "grad_f": """
def grad_f(p):
    return torch.stack((2 * p[0] * p[1], p[0] ** 2 + p[1].cos()))
""",
    "gradient_descent": """
def gradient_descent(f, x0, lr, steps):
    points, x = [x0.detach().clone()], x0.detach().clone()
    for _ in range(steps):
        x.requires_grad_(True)
        f(x).backward()
        x = (x - lr * x.grad).detach()
        points.append(x)
    return torch.stack(points)
""",
    "hessian": """
def hessian(f, x):
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    eye = torch.eye(x.numel(), dtype=x.dtype)
    return torch.stack([torch.autograd.grad(g, x, grad_outputs=e, retain_graph=True)[0] for e in eye]).detach()
""",
    "momentum_descent": """
def momentum_descent(f, x0, lr, beta, steps):
    x, buf, points = x0.detach().clone(), None, [x0.detach().clone()]
    for _ in range(steps):
        x.requires_grad_(True)
        (g,) = torch.autograd.grad(f(x), x)
        buf = g if buf is None else beta * buf + g
        x = (x - lr * buf).detach()
        points.append(x)
    return torch.stack(points)
""",
    "sigmoid": """
def sigmoid(x):
    return 0.5 * (1 + torch.tanh(x / 2))
""",
    "sigmoid_grad": """
def sigmoid_grad(x):
    s = torch.sigmoid(x)
    return s - s * s
""",
    "tanh_grad": """
def tanh_grad(x):
    return 1 / torch.cosh(x) ** 2
""",
    "relu_grad": """
def relu_grad(x):
    return torch.where(x > 0, torch.ones_like(x), torch.zeros_like(x))
""",
    "softplus": """
def softplus(x):
    safe = x.clamp(max=30.0)
    return torch.where(x > 30.0, x, torch.log1p(torch.exp(safe)))
""",
    "leaky_relu": """
def leaky_relu(x, negative_slope=0.01):
    return torch.maximum(x, negative_slope * x)
""",
    "elu": """
def elu(x, alpha=1.0):
    negative = x.clamp(max=0)
    return torch.where(x > 0, x, alpha * (torch.exp(negative) - 1))
""",
    "mse": """
def mse(pred, target):
    return torch.mean(torch.square(pred - target))
""",
    "mse_grad": """
def mse_grad(pred, target):
    return (pred - target) * (2.0 / pred.numel())
""",
    "kl_divergence": """
def kl_divergence(p, q):
    return torch.where(p > 0, p * torch.log(p / q), torch.zeros_like(p)).sum(-1)
""",
    "cross_entropy": """
def cross_entropy(logits, target):
    m = logits.max(dim=1, keepdim=True).values
    lse = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    return (lse - logits.gather(1, target[:, None]).squeeze(1)).mean()
""",
    "binary_cross_entropy_with_logits": """
def binary_cross_entropy_with_logits(logits, target):
    pos, neg = logits.clamp(min=0), logits.clamp(max=0)
    softplus = torch.where(logits > 0, pos + torch.log1p(torch.exp(-pos)), torch.log1p(torch.exp(neg)))
    return torch.mean(softplus - target * logits)
""",
    "softmax": """
def softmax(z, dim=-1):
    e = torch.exp(z - torch.max(z, dim=dim, keepdim=True).values) if z.numel() else z
    return e / torch.sum(e, dim=dim, keepdim=True)
""",
    "softmax_with_temperature": """
def softmax_with_temperature(z, temperature):
    scaled = z / temperature
    e = (scaled - scaled.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=-1, keepdim=True)
""",
    "softmax_jacobian": """
def softmax_jacobian(z):
    p = torch.softmax(z, dim=-1)
    return p[:, None] * (torch.eye(len(z), dtype=z.dtype) - p[None, :])
""",
    "softmax_cross_entropy_grad": """
def softmax_cross_entropy_grad(logits, target):
    grad = torch.softmax(logits, dim=-1)
    grad[torch.arange(len(target)), target] -= 1
    return grad / max(len(target), 1)
""",
    "two_output_grads": """
def two_output_grads(a):
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=0), a)
    return jac[1], jac[2]
""",
    "sgd_steps": """
def sgd_steps(w0, x, y, lr, steps):
    w = w0.detach().clone()
    for _ in range(steps):
        w.requires_grad_(True)
        (g,) = torch.autograd.grad(((x @ w - y) ** 2).mean(), w)
        w = (w - lr * g).detach()
    return w
""",
    "second_derivative": """
def second_derivative(f, x):
    return float(torch.autograd.functional.hessian(f, x.detach().clone()))
""",
    "linear_backward": """
def linear_backward(x, W, b, grad_out):
    return (torch.einsum("no,oi->ni", grad_out, W), torch.einsum("no,ni->oi", grad_out, x), grad_out.sum(0))
""",
    "mlp_backward": """
def mlp_backward(x, y, W1, b1, W2, b2):
    z1 = torch.addmm(b1, x, W1.T)
    h = z1.clamp(min=0)
    out = torch.addmm(b2, h, W2.T)
    d_out = (out - y) * (2.0 / out.numel())
    d_z1 = (d_out @ W2) * torch.heaviside(z1, torch.zeros_like(z1))
    return d_z1.T @ x, d_z1.sum(0), d_out.T @ h, d_out.sum(0)
""",
    "unbroadcast": """
def unbroadcast(grad, shape):
    while grad.dim() > len(shape):
        grad = grad.sum(dim=0)
    for i, n in enumerate(shape):
        if n == 1:
            grad = grad.sum(dim=i, keepdim=True)
    return grad
""",
    "mul_vjp": """
def mul_vjp(grad, a, b):
    def down(g, shape):
        g = g.sum(dim=tuple(range(g.dim() - len(shape)))) if g.dim() > len(shape) else g
        return g.sum(dim=[i for i, n in enumerate(shape) if n == 1], keepdim=True) if 1 in shape else g
    return down(b * grad, a.shape), down(a * grad, b.shape)
""",
    "matmul_vjp": """
def matmul_vjp(grad, a, b):
    ga = torch.matmul(grad, b.transpose(-1, -2))
    gb = torch.matmul(a.transpose(-1, -2), grad)
    # a matrix shared by a batch: its gradient is the sum over the batch's dimensions
    if ga.dim() > a.dim():
        ga = ga.flatten(0, ga.dim() - a.dim() - 1).sum(0)
    if gb.dim() > b.dim():
        gb = gb.flatten(0, gb.dim() - b.dim() - 1).sum(0)
    return ga, gb
""",
    "softmax_vjp": """
def softmax_vjp(grad, p):
    jacobian = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
    return (grad.unsqueeze(-2) @ jacobian).squeeze(-2)
""",
    "engine_gradients": """
from coursekit import engine

def recursive_backward(output, grad=None):
    # one call per path from the output: slow on big graphs, but right when nothing is freed
    def visit(t, g):
        if t.node is None:
            if t.requires_grad:
                t.grad = g if t.grad is None else t.grad + g
            return
        for i, gi in zip(t.node.inputs, t.node.vjp(g)):
            visit(i, gi)
    visit(output, torch.ones_like(output.value))

def engine_gradients(program, values):
    return engine.gradients(program, values, backward=recursive_backward)
""",
    "backward_twice": """
from collections import deque

from coursekit import engine

def kahn_then_free(output, grad=None, retain_graph=False):
    graph = engine.inputs_of(output)
    users = {t: 0 for t in graph}
    for t in graph:
        for i in graph[t]:
            users[i] += 1
    grads, ready, walked = {output: torch.ones_like(output.value)}, deque([output]), []
    while ready:
        t = ready.popleft()
        if t.node is not None:
            for i, g in zip(t.node.inputs, t.node.vjp(grads[t])):
                grads[i] = grads.get(i, 0) + g
            walked.append(t)
        elif t.requires_grad:
            t.grad = grads[t] if t.grad is None else t.grad + grads[t]
        for i in graph[t]:
            users[i] -= 1
            if users[i] == 0:
                ready.append(i)
    if not retain_graph:
        for t in walked:
            t.node.free()

def backward_twice(program, values, retain_graph):
    return engine.backward_twice(program, values, retain_graph=retain_graph, backward=kahn_then_free)
""",
}
