"""Exercises of 02_saddle_points: the Hessian, the Hessian test, momentum, the stable learning rate."""

from __future__ import annotations

import numpy as np
import torch

from coursekit import landscapes
from coursekit.exercises.cases import tensor, uniform
from coursekit.exercises.functions import named
from coursekit.exercises.model import Case, Exercise, Mistake, NamedFunction
from coursekit.exercises.registry import register
from coursekit.exercises.rules import forbid, must_create_graph, must_use_autograd
from coursekit.i18n import N_

NOTEBOOK = "02_saddle_points"


def _cap(p: torch.Tensor) -> torch.Tensor:
    return -(p[..., 0] ** 2) - 2 * p[..., 1] ** 2


def _xy(p: torch.Tensor) -> torch.Tensor:
    return p[..., 0] * p[..., 1]


def _quartic(p: torch.Tensor) -> torch.Tensor:
    return p[..., 0] ** 4 + p[..., 1] ** 4


def _saddle_with_flat_axis(p: torch.Tensor) -> torch.Tensor:
    return p[0] ** 2 - p[1] ** 2 + p[2] ** 4


def _coupled_3d(p: torch.Tensor) -> torch.Tensor:
    return p[0] * p[1] * p[2] + p[0] ** 2 * torch.sin(p[1]) + torch.exp(0.5 * p[2])


BOWL = named("bowl", landscapes.bowl, "x² + y²")
ELONGATED = named("elongated", landscapes.elongated, "½(x² + 10y²)")
SADDLE = named("saddle", landscapes.saddle, "x² − y²")
MONKEY = named("monkey_saddle", landscapes.monkey_saddle, "x³ − 3xy²")
ROSENBROCK = named("rosenbrock", landscapes.rosenbrock, "(1 − x)² + 100(y − x²)²")
HIMMELBLAU = named("himmelblau", landscapes.himmelblau, "(x² + y − 11)² + (x + y² − 7)²")
CAP = named("cap", _cap, "−x² − 2y²")
XY = named("xy", _xy, "x·y")
QUARTIC = named("quartic", _quartic, "x⁴ + y⁴")
FLAT_SADDLE = named("saddle_with_flat_axis", _saddle_with_flat_axis, "x² − y² + z⁴")
COUPLED_3D = named("coupled_3d", _coupled_3d, "xyz + x²·sin(y) + exp(z/2)")

#: the quadratic of the learning-rate section: f(w) = ½ wᵀ A w
STABLE_LR_MATRIX = ((5.0, 2.0), (2.0, 2.0))


# --- hessian --------------------------------------------------------------------------------

def hessian(f: NamedFunction, x: torch.Tensor) -> torch.Tensor:
    """Reference: H[i, j] = ∂²f/∂xᵢ∂xⱼ at x, by differentiating each entry of the autograd gradient."""
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    # Row i is the gradient of ∂f/∂xᵢ: differentiating the gradient once more, entry by entry.
    rows = [torch.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(x.numel())]
    return torch.stack(rows).detach()


def _hessian_diagonal_only(f, x):
    return torch.diag(torch.diagonal(hessian(f, x)))


def _hessian_upper_only(f, x):
    return torch.triu(hessian(f, x))


def _hessian_gradient(f, x):
    x = x.detach().clone().requires_grad_(True)
    return torch.autograd.grad(f(x), x)[0]


def _hessian_public() -> list[Case]:
    return [
        Case((SADDLE, tensor([0.0, 0.0])), label="the saddle x² − y² at its critical point"),
        Case((ROSENBROCK, tensor([1.0, 1.0])), label="Rosenbrock at its minimum (1, 1)"),
        Case((MONKEY, tensor([1.0, 1.0])), label="the monkey saddle away from the origin"),
        Case((MONKEY, tensor([0.0, 0.0])), label="the monkey saddle at the origin: every entry is 0"),
        Case((COUPLED_3D, tensor([0.5, -1.0, 2.0])), label="a 3-D function with cross terms"),
        Case((XY, tensor([3.0, -2.0])), label="f = x·y: zero diagonal, only cross terms"),
    ]


def _hessian_hidden(rng: np.random.Generator) -> list[Case]:
    return [
        Case((HIMMELBLAU, uniform(rng, (2,), low=-4, high=4)), label=N_("Himmelblau at a point of [-4, 4]²")),
        Case((ROSENBROCK, uniform(rng, (2,), low=-2, high=2)), label=N_("Rosenbrock at a point of [-2, 2]²")),
        Case((COUPLED_3D, uniform(rng, (3,), low=-2, high=2)),
             label=N_("the 3-D function at a point of [-2, 2]³")),
    ]


register(Exercise(
    id="hessian",
    notebook=NOTEBOOK,
    title=N_("The Hessian matrix by autograd"),
    signature="hessian(f, x)",
    reference=hessian,
    public_cases=_hessian_public,
    hidden_cases=_hessian_hidden,
    rtol=1e-9,
    atol=1e-10,
    convention=N_("x has shape (d,); return the (d, d) matrix H[i, j] = ∂²f/∂xᵢ∂xⱼ as a detached tensor."),
    rules=(forbid("torch.autograd.functional.hessian", "torch.autograd.functional.jacobian", "torch.func.hessian",
                  "torch.func.jacrev", "torch.func.jacfwd",
                  text=N_("build H yourself from gradients: torch.autograd.functional.hessian/jacobian and "
                          "torch.func's hessian, jacrev and jacfwd are off limits.")),
           must_create_graph(N_("differentiate the gradient: compute it with create_graph=True, then differentiate "
                                "each of its entries."))),
    hints=(
        N_("The Hessian is the Jacobian of the gradient: row i holds the derivatives of ∂f/∂xᵢ. For autograd to "
           "differentiate the gradient, the gradient itself must be recorded in a graph."),
        N_("Take one gradient of each entry of the first gradient, d of them through the same graph (which must "
           "survive all d calls), stack the rows, and return the result detached."),
    ),
    mistakes=(
        Mistake("diagonal-only",
                N_("Only the diagonal ∂²f/∂xᵢ² is filled in: the mixed partials ∂²f/∂xᵢ∂xⱼ off the diagonal "
                   "are missing. Differentiate each gradient entry with respect to the whole x."),
                wrong=_hessian_diagonal_only),
        Mistake("upper-only",
                N_("Your matrix is not symmetric: only the upper triangle is filled. ∂²f/∂xᵢ∂xⱼ = ∂²f/∂xⱼ∂xᵢ, "
                   "so H[j, i] must equal H[i, j]."),
                wrong=_hessian_upper_only),
        Mistake("gradient",
                N_("You returned the gradient (first derivatives). The Hessian differentiates the gradient once "
                   "more: one row per gradient entry, a (d, d) matrix."),
                wrong=_hessian_gradient),
        Mistake("negated",
                N_("Your matrix has the opposite sign of the Hessian everywhere."),
                wrong=lambda f, x: -hessian(f, x)),
    ),
))


# --- classify_critical_point ----------------------------------------------------------------

def classify_critical_point(f: NamedFunction, x: torch.Tensor) -> str:
    """Reference: the Hessian test at a critical point x, eigenvalues with |λ| ≤ 1e-6 counted as zero."""
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    rows = [torch.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(x.numel())]
    lam = torch.linalg.eigvalsh(torch.stack(rows).detach())
    tol = 1e-6
    if (lam > tol).any() and (lam < -tol).any():
        return "saddle"  # curving up one way and down another: a saddle, whatever the other λ are
    if (lam.abs() <= tol).any():
        return "degenerate"  # a zero curvature: the second-order test cannot decide
    return "minimum" if (lam > 0).all() else "maximum"


def _eigs(f, x):
    return torch.linalg.eigvalsh(hessian(f, x))


def _classify_swapped(f, x):
    kind = classify_critical_point(f, x)
    return {"minimum": "maximum", "maximum": "minimum"}.get(kind, kind)


def _classify_diagonal(f, x):
    d = torch.diagonal(hessian(f, x))
    if (d > 1e-6).any() and (d < -1e-6).any():
        return "saddle"
    if (d.abs() <= 1e-6).any():
        return "degenerate"
    return "minimum" if (d > 0).all() else "maximum"


def _classify_ignores_zero(f, x):
    lam = _eigs(f, x)
    if (lam >= -1e-6).all():
        return "minimum"
    if (lam <= 1e-6).all():
        return "maximum"
    return "saddle"


def _classify_degenerate_first(f, x):
    lam = _eigs(f, x)
    if (lam.abs() <= 1e-6).any():
        return "degenerate"
    if (lam > 0).all():
        return "minimum"
    return "maximum" if (lam < 0).all() else "saddle"


def _classify_public() -> list[Case]:
    return [
        Case((BOWL, tensor([0.0, 0.0])), label="the bowl x² + y² at the origin"),
        Case((CAP, tensor([0.0, 0.0])), label="the cap −x² − 2y² at the origin"),
        Case((SADDLE, tensor([0.0, 0.0])), label="the saddle x² − y² at the origin"),
        Case((XY, tensor([0.0, 0.0])), label="f = x·y at the origin: zero diagonal, a rotated saddle"),
        Case((MONKEY, tensor([0.0, 0.0])), label="the monkey saddle at the origin: the Hessian is zero"),
        Case((QUARTIC, tensor([0.0, 0.0])), label="x⁴ + y⁴ at the origin: a minimum the test cannot see"),
        Case((FLAT_SADDLE, tensor([0.0, 0.0, 0.0])),
             label="x² − y² + z⁴: one zero eigenvalue, but ± curvature"),
        Case((HIMMELBLAU, tensor([-0.2708445907, -0.9230385565])), label="Himmelblau's local maximum"),
    ]


def _classify_hidden(rng: np.random.Generator) -> list[Case]:
    points = landscapes.landscape("himmelblau").critical_points
    chosen = rng.choice(len(points), size=3, replace=False)
    return [Case((HIMMELBLAU, tensor(list(points[int(i)].point))),
                 label=N_("one of Himmelblau's critical points")) for i in chosen]


register(Exercise(
    id="classify_critical_point",
    notebook=NOTEBOOK,
    title=N_("The Hessian test: minimum, maximum, saddle or degenerate"),
    signature="classify_critical_point(f, x)",
    reference=classify_critical_point,
    public_cases=_classify_public,
    hidden_cases=_classify_hidden,
    convention=N_("x (float64, shape (d,)) is a critical point of f. Return one of the strings 'minimum', "
                  "'maximum', 'saddle' or 'degenerate'; eigenvalues with |λ| ≤ 1e-6 count as zero."),
    hints=(
        N_("The verdict is decided by the signs of the Hessian's eigenvalues at x (`torch.linalg.eigvalsh`, since "
           "H is symmetric); you may use your hessian() from above or torch.autograd.functional.hessian."),
        N_("Mind the order of the tests in the table: curvature of both signs decides the verdict even when "
           "another eigenvalue is zero."),
    ),
    mistakes=(
        Mistake("eigenvalues",
                N_("You returned the eigenvalues; turn them into a verdict: return one of 'minimum', 'maximum', "
                   "'saddle' or 'degenerate'."),
                test=lambda case, expected, got: not isinstance(got, str) and hasattr(got, "shape")),
        Mistake("swapped",
                N_("Minimum and maximum are swapped: positive curvature in every direction (all λ > 0) is a "
                   "minimum."),
                wrong=_classify_swapped),
        Mistake("diagonal",
                N_("This follows the signs of the Hessian's diagonal. The test needs its eigenvalues: x·y has a "
                   "zero diagonal, but eigenvalues +1 and −1, so the origin is a saddle."),
                wrong=_classify_diagonal),
        Mistake("ignores-zero",
                N_("A zero eigenvalue was treated as positive (or negative). When an eigenvalue is zero and the "
                   "others share one sign, the test is inconclusive: answer 'degenerate'."),
                wrong=_classify_ignores_zero),
        Mistake("degenerate-first",
                N_("A positive and a negative eigenvalue prove a saddle even when another eigenvalue is zero: "
                   "check for the saddle before answering 'degenerate'."),
                wrong=_classify_degenerate_first),
    ),
))


# --- momentum_descent -----------------------------------------------------------------------

def momentum_descent(f: NamedFunction, x0: torch.Tensor, lr: float, beta: float, steps: int) -> torch.Tensor:
    """Reference: PyTorch SGD momentum, buf ← β·buf + g (buf = g at the first step), x ← x − lr·buf."""
    x = x0.detach().clone()
    buf = None
    path = [x]
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(x), x)
        buf = g.clone() if buf is None else beta * buf + g
        x = (x - lr * buf).detach()
        path.append(x)
    return torch.stack(path)


def _momentum_variant(f, x0, lr, beta, steps, *, dampening=False, nesterov=False, lag=False,
                      torch_damp=False):
    x = x0.detach().clone()
    buf = torch.zeros_like(x)
    path = [x]
    for t in range(steps):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(x), x)
        if torch_damp:  # torch.optim.SGD(dampening=beta): the first buffer is g, later ones are damped
            new = g if t == 0 else beta * buf + (1 - beta) * g
        else:
            new = beta * buf + ((1 - beta) * g if dampening else g)
        direction = g + beta * new if nesterov else (buf if lag else new)
        buf = new
        x = (x - lr * direction).detach()
        path.append(x)
    return torch.stack(path)


def _momentum_public() -> list[Case]:
    return [
        Case((ELONGATED, tensor([2.0, 1.0]), 0.1, 0.9, 0), label="steps = 0: the trajectory is just x0"),
        Case((ELONGATED, tensor([2.0, 1.0]), 0.1, 0.0, 4), label="β = 0 is plain gradient descent"),
        Case((ELONGATED, tensor([2.0, 1.0]), 0.05, 0.9, 12), label="the elongated quadratic, β = 0.9"),
        Case((ROSENBROCK, tensor([-1.0, 1.0]), 5e-4, 0.8, 10), label="Rosenbrock, β = 0.8"),
        Case((BOWL, tensor([1.0, -1.0]), 0.0, 0.9, 3), label="lr = 0: the point never moves"),
    ]


def _momentum_hidden(rng: np.random.Generator) -> list[Case]:
    return [
        Case((ELONGATED, uniform(rng, (2,), low=-2, high=2), float(rng.uniform(0.01, 0.15)),
              float(rng.uniform(0.5, 0.95)), int(rng.integers(2, 15))),
             label=N_("the elongated quadratic, lr in [0.01, 0.15], β in [0.5, 0.95]")),
        Case((HIMMELBLAU, uniform(rng, (2,), low=-4, high=4), float(rng.uniform(1e-3, 5e-3)),
              float(rng.uniform(0.3, 0.9)), int(rng.integers(2, 10))),
             label=N_("Himmelblau, lr in [1e-3, 5e-3], β in [0.3, 0.9]")),
    ]


register(Exercise(
    id="momentum_descent",
    notebook=NOTEBOOK,
    title=N_("Gradient descent with momentum, PyTorch's convention"),
    signature="momentum_descent(f, x0, lr, beta, steps)",
    reference=momentum_descent,
    public_cases=_momentum_public,
    hidden_cases=_momentum_hidden,
    rtol=1e-8,
    atol=1e-10,
    convention=N_("torch.optim.SGD(momentum=beta) with dampening 0, no Nesterov: buf = g at the first step, "
                  "then buf = β·buf + g; x = x − lr·buf. Row 0 is x0; shape (steps + 1, d)."),
    rules=(must_use_autograd(N_("compute each gradient with autograd (backward() or torch.autograd.grad), since f "
                                "can be any function.")),),
    hints=(
        N_("Keep a buffer next to x that remembers past gradients. In each step update the buffer with the new "
           "gradient first, then move x along the buffer."),
        N_("Check your first step by hand: with the buffer starting at zero it is an ordinary gradient step."),
        N_("Return every point, x0 first, stacked as in gradient_descent."),
    ),
    mistakes=(
        Mistake("missing-x0",
                N_("Your trajectory is missing its first row: include x0 itself, so the result has "
                   "steps + 1 rows."),
                wrong=lambda f, x0, lr, beta, steps: momentum_descent(f, x0, lr, beta, steps)[1:]),
        Mistake("dampening",
                N_("This is the moving-average form buf = β·buf + (1 − β)·g. PyTorch's SGD adds the full "
                   "gradient: buf = β·buf + g (dampening = 0)."),
                wrong=lambda f, x0, lr, beta, steps: _momentum_variant(f, x0, lr, beta, steps,
                                                                       dampening=True)),
        Mistake("torch-dampening",
                N_("This matches torch.optim.SGD with dampening=beta (buf = β·buf + (1 − β)·g after the "
                   "first step). The exercise uses SGD's default dampening = 0: buf = β·buf + g."),
                wrong=lambda f, x0, lr, beta, steps: _momentum_variant(f, x0, lr, beta, steps,
                                                                       torch_damp=True)),
        Mistake("nesterov",
                N_("This is Nesterov's variant (step along g + β·buf). The exercise asks for plain momentum: "
                   "step along buf itself."),
                wrong=lambda f, x0, lr, beta, steps: _momentum_variant(f, x0, lr, beta, steps,
                                                                       nesterov=True)),
        Mistake("stale-buffer",
                N_("You stepped with the buffer from the previous iteration: update buf with the new gradient "
                   "first, then move x by lr·buf."),
                wrong=lambda f, x0, lr, beta, steps: _momentum_variant(f, x0, lr, beta, steps, lag=True)),
    ),
))


# --- largest_stable_lr ----------------------------------------------------------------------

def largest_stable_lr() -> float:
    """Reference: 2 / L for f(w) = ½ wᵀAw, L the largest eigenvalue of A = [[5, 2], [2, 2]]."""
    lam_max = torch.linalg.eigvalsh(torch.tensor(STABLE_LR_MATRIX, dtype=torch.float64)).max()
    return 2.0 / float(lam_max)


register(Exercise(
    id="largest_stable_lr",
    notebook=NOTEBOOK,
    kind="value",
    title=N_("The largest stable learning rate of a quadratic"),
    reference=largest_stable_lr,
    public_cases=lambda: [Case(label="f(w) = ½ wᵀAw with A = [[5, 2], [2, 2]]")],
    rtol=2e-3,
    atol=0.0,
    convention=N_("A is symmetric positive definite, so plain gradient descent on f(w) = ½ wᵀAw converges from "
                  "every start exactly when 0 < lr < 2/L, L the largest eigenvalue of A. Give the bound as a "
                  "number (3 significant digits suffice)."),
    hints=(
        N_("The gradient is A w, so one step multiplies w by (I − lr·A). Along an eigenvector with eigenvalue λ "
           "that is a factor (1 − lr·λ), which must stay in (−1, 1)."),
        N_("A is not diagonal, so its diagonal entries are not its curvatures: compute its eigenvalues, and ask "
           "which one is the first to break the condition as lr grows."),
    ),
    mistakes=(
        Mistake("one-over-L",
                N_("1/L is the step that makes the steepest direction land exactly at its minimum in one step; "
                   "descent stays stable up to twice that, 2/L."),
                wrong=lambda: 1.0 / 6.0),
        Mistake("smallest-eigenvalue",
                N_("You used the smallest eigenvalue. The steepest direction (the largest eigenvalue L) is the "
                   "first to blow up, so the bound is 2/L."),
                wrong=lambda: 2.0 / 1.0),
        Mistake("diagonal",
                N_("You used a diagonal entry of A. A is not diagonal: its curvatures are its eigenvalues "
                   "(torch.linalg.eigvalsh), not A[0, 0] or A[1, 1]."),
                wrong=lambda: 2.0 / 5.0),
    ),
))
