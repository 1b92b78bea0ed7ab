"""Exercises of 01_gradients: numerical and hand-derived gradients, directional derivatives, descent."""

from __future__ import annotations

import numpy as np
import torch

from coursekit import landscapes
from coursekit.exercises.cases import normal, tensor, uniform
from coursekit.exercises.functions import named
from coursekit.exercises.model import Case, Exercise, Mistake, NamedFunction
from coursekit.exercises.registry import register
from coursekit.exercises.rules import must_use_autograd, no_autograd
from coursekit.i18n import N_

NOTEBOOK = "01_gradients"


def _f_xy(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return x**2 * y + torch.sin(y)


def _sum_of_cubes(x: torch.Tensor) -> torch.Tensor:
    return (x**3).sum()


def _log_sum_exp(x: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(x.reshape(-1), dim=0)


def _sum_of_squares(x: torch.Tensor) -> torch.Tensor:
    return (x**2).sum()


#: the two-variable function of the notebook, f(x, y) = x²·y + sin(y)
F_XY = named("x2y_plus_sin_y", _f_xy, "x²·y + sin(y)")
SUM_OF_CUBES = named("sum_of_cubes", _sum_of_cubes, "Σ xᵢ³")
LOG_SUM_EXP = named("log_sum_exp", _log_sum_exp, "log Σ exp(xᵢ)")
SUM_OF_SQUARES = named("sum_of_squares", _sum_of_squares, "Σ xᵢ²")
BOWL = named("bowl", landscapes.bowl, "x² + y²")
ELONGATED = named("elongated", landscapes.elongated, "½(x² + 10y²)")
ROSENBROCK = named("rosenbrock", landscapes.rosenbrock, "(1 − x)² + 100(y − x²)²")
HIMMELBLAU = named("himmelblau", landscapes.himmelblau, "(x² + y − 11)² + (x + y² − 7)²")


# --- numerical_gradient ---------------------------------------------------------------------

def numerical_gradient(f: NamedFunction, x: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """Reference: central differences (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for every entry i of x."""
    flat = x.detach().reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = h
        plus = f((flat + step).reshape(x.shape))
        minus = f((flat - step).reshape(x.shape))
        grad[i] = (plus - minus) / (2 * h)
    return grad.reshape(x.shape)


def _forward_difference(f, x, h=1e-5):
    flat = x.detach().reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = h
        grad[i] = (f((flat + step).reshape(x.shape)) - f(x)) / h
    return grad.reshape(x.shape)


def _over_h(f, x, h=1e-5):
    return 2 * numerical_gradient(f, x, h)


def _flattened(f, x, h=1e-5):
    return numerical_gradient(f, x, h).reshape(-1)


def _first_axis_only(f, x, h=1e-5):
    # Nudges whole rows x[i] (all entries of a row at once), which is right only for a vector x.
    grad = torch.zeros_like(x)
    for i in range(len(x)):
        step = torch.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def _numgrad_public() -> list[Case]:
    return [
        Case((F_XY, tensor([1.0, 2.0])), label="f(x, y) = x²·y + sin(y) at (1, 2)"),
        Case((SUM_OF_CUBES, tensor([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]])), label="a 2x3 matrix input"),
        Case((SUM_OF_CUBES, tensor(1.5)), label="a single number (0-d tensor)"),
        Case((ROSENBROCK, tensor([1.0, 1.0])), label="at the minimum, the gradient is zero"),
        Case((LOG_SUM_EXP, tensor([0.3, -1.2, 2.0, 0.0])), {"h": 1e-4}, label="a larger step h = 1e-4"),
    ]


def _numgrad_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((F_XY, uniform(rng, (2,), low=-2.0, high=2.0)),
                  label=N_("x²·y + sin(y) at a point in [-2, 2]²"))]
    for _ in range(2):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        cases.append(Case((SUM_OF_CUBES, normal(rng, shape)), label=N_("Σ x³ at a random normal matrix")))
    cases.append(Case((LOG_SUM_EXP, normal(rng, (5,))), label=N_("log-sum-exp at a random vector")))
    return cases


register(Exercise(
    id="numerical_gradient",
    notebook=NOTEBOOK,
    title=N_("Numerical gradient by central differences"),
    signature="numerical_gradient(f, x, h=1e-5)",
    reference=numerical_gradient,
    public_cases=_numgrad_public,
    hidden_cases=_numgrad_hidden,
    rtol=1e-6,
    atol=1e-7,
    convention=N_("Central differences: (f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h), one entry i at a time; "
                  "the result has x's shape and dtype; x itself is left unchanged."),
    rules=(no_autograd(N_("estimate the gradient from values of f alone: no autograd (no backward(), "
                          "torch.autograd.grad, requires_grad or torch.func transforms).")),),
    hints=(
        N_("Nudge one entry of x at a time, by +h and by −h, and look at how much f changes. A matrix x has one "
           "entry per (row, column): visit every entry, not every row."),
        N_("The slope estimate for entry i is the change of f divided by the distance between the two nudged "
           "points. Collect the estimates in a tensor of x's shape."),
        N_("Leave x itself alone: build each nudged point as a new tensor. Nudging x in place and undoing it "
           "afterwards does not give x back exactly, since every floating-point addition rounds."),
    ),
    mistakes=(
        Mistake("forward-difference",
                N_("This matches the forward difference (f(x + h) − f(x)) / h. Its error shrinks only like h; "
                   "the central difference (f(x + h) − f(x − h)) / (2h) is accurate to order h²."),
                wrong=_forward_difference),
        Mistake("divided-by-h",
                N_("Your values are exactly twice the expected ones: the central difference spans 2h, "
                   "so divide by 2 * h, not h."),
                wrong=_over_h),
        Mistake("flattened",
                N_("You returned a flat vector: reshape the result to x's shape (grad.reshape(x.shape))."),
                wrong=_flattened),
        Mistake("sign-flip",
                N_("Your values have the opposite sign: compute f(x + h) − f(x − h), not f(x − h) − f(x + h)."),
                wrong=lambda f, x, h=1e-5: -numerical_gradient(f, x, h)),
        Mistake("rows-only",
                N_("Right for a vector, wrong for a matrix: x[i] is a whole row there, so you nudged every entry "
                   "of the row at once. Loop over single entries, e.g. over x.reshape(-1) (or x.numel() indices)."),
                wrong=_first_axis_only),
    ),
))


# --- grad_f ---------------------------------------------------------------------------------

def grad_f(p: torch.Tensor) -> torch.Tensor:
    """Reference: ∇f for f(x, y) = x²·y + sin(y), i.e. (2xy, x² + cos y), at the point p = (x, y)."""
    x, y = p[0], p[1]
    return torch.stack([2 * x * y, x**2 + torch.cos(y)])


def _grad_f_public() -> list[Case]:
    return [
        Case((tensor([1.0, 2.0]),), label="the point (1, 2)"),
        Case((tensor([0.0, 0.0]),), label="the origin"),
        Case((tensor([-1.5, torch.pi]),), label="a negative x and y = π"),
        Case((tensor([100.0, -0.25]),), label="a large x"),
    ]


def _grad_f_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((uniform(rng, (2,), low=-3.0, high=3.0),), label=N_("a point drawn uniformly from [-3, 3]²"))
            for _ in range(4)]


register(Exercise(
    id="grad_f",
    notebook=NOTEBOOK,
    title=N_("The gradient of f(x, y) = x²·y + sin(y) by hand"),
    signature="grad_f(p)",
    reference=grad_f,
    public_cases=_grad_f_public,
    hidden_cases=_grad_f_hidden,
    rtol=1e-10,
    atol=1e-12,
    convention=N_("p is a float64 tensor of shape (2,) holding the point (x, y); return (∂f/∂x, ∂f/∂y) at p, "
                  "shape (2,), float64."),
    rules=(no_autograd(N_("derive the two partial derivatives on paper and code the formulas: no autograd (no "
                          "backward(), torch.autograd.grad, requires_grad or torch.func transforms).")),),
    hints=(
        N_("Treat y as a constant to get ∂f/∂x, and x as a constant to get ∂f/∂y."),
        N_("Differentiate x²·y and sin y one term at a time; a term without the variable you differentiate by has "
           "derivative 0. Put the two results into one tensor of shape (2,)."),
    ),
    mistakes=(
        Mistake("swapped", N_("Your two entries are swapped: the first entry is ∂f/∂x = 2xy, the second ∂f/∂y."),
                wrong=lambda x: torch.stack([x[0] ** 2 + torch.cos(x[1]), 2 * x[0] * x[1]])),
        Mistake("minus-cos", N_("Check the derivative of sin(y): it is +cos(y), not −cos(y)."),
                wrong=lambda x: torch.stack([2 * x[0] * x[1], x[0] ** 2 - torch.cos(x[1])])),
        Mistake("dropped-y", N_("In ∂f/∂x, y is a constant factor that stays: ∂(x²·y)/∂x = 2x·y, not 2x."),
                wrong=lambda x: torch.stack([2 * x[0], x[0] ** 2 + torch.cos(x[1])])),
        Mistake("missing-cos", N_("∂f/∂y has two terms: x² from x²·y and cos(y) from sin(y)."),
                wrong=lambda x: torch.stack([2 * x[0] * x[1], x[0] ** 2])),
    ),
))


# --- directional_derivative -----------------------------------------------------------------

def directional_derivative(grad: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Reference: the slope of f along the direction of v, ∇f · v / ‖v‖ (v need not be a unit vector)."""
    return torch.dot(grad, v) / torch.linalg.vector_norm(v)


def _dd_public() -> list[Case]:
    return [
        Case((tensor([3.0, -1.0]), tensor([1.0, 0.0])), label="v is already a unit vector"),
        Case((tensor([2.0, 1.0]), tensor([3.0, 4.0])), label="v = (3, 4) has length 5"),
        Case((tensor([2.0, 1.0]), tensor([-0.3, -0.4])), label="v = (−0.3, −0.4) is shorter than 1"),
        Case((tensor([0.0, 0.0, 0.0]), tensor([1.0, 2.0, 2.0])), label="zero gradient in 3-D"),
        Case((tensor([1.0, 2.0, -2.0]), tensor([2.0, 1.0, 2.0])), label="v perpendicular to the gradient"),
    ]


def _dd_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        d = int(rng.integers(2, 6))
        cases.append(Case((normal(rng, (d,)), normal(rng, (d,), scale=3.0)),
                          label=N_("normal gradient, normal direction of scale 3, 2 to 5 dimensions")))
    return cases


register(Exercise(
    id="directional_derivative",
    notebook=NOTEBOOK,
    title=N_("Directional derivative along v"),
    signature="directional_derivative(grad, v)",
    reference=directional_derivative,
    public_cases=_dd_public,
    hidden_cases=_dd_hidden,
    rtol=1e-10,
    atol=1e-12,
    convention=N_("grad and v are float64 tensors of shape (d,); v is any non-zero vector, of any length. "
                  "Return the slope of f per unit distance in the direction of v: a single number (a 0-d tensor "
                  "or a float)."),
    hints=(
        N_("A slope per unit of distance is measured along a direction vector of length 1."),
        N_("Make a unit vector that points the way v points, then combine it with the gradient the way a "
           "directional derivative combines them (section 4 above)."),
    ),
    mistakes=(
        Mistake("not-normalised",
                N_("This is ∇f · v without dividing by ‖v‖: when v is longer or shorter than 1, the slope "
                   "comes out scaled by its length. Divide by torch.linalg.vector_norm(v)."),
                wrong=lambda grad, v: torch.dot(grad, v)),
        Mistake("norm-squared",
                N_("You divided by ‖v‖²; that gives the projection coefficient. The slope per unit distance "
                   "divides by ‖v‖ once."),
                wrong=lambda grad, v: torch.dot(grad, v) / torch.dot(v, v)),
        Mistake("elementwise",
                N_("You returned the elementwise product: sum it (a dot product) to get one number."),
                wrong=lambda grad, v: grad * v / torch.linalg.vector_norm(v)),
        Mistake("normalised-gradient",
                N_("You divided by ‖∇f‖ instead of ‖v‖. The gradient keeps its length (it sets the slope); only "
                   "the direction v is made a unit vector."),
                wrong=lambda grad, v: torch.dot(grad, v) / torch.linalg.vector_norm(grad)),
    ),
))


# --- gradient_descent -----------------------------------------------------------------------

def gradient_descent(f: NamedFunction, x0: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    """Reference: x_{t+1} = x_t − lr·∇f(x_t); returns all iterates x_0 … x_steps, shape (steps + 1, d)."""
    x = x0.detach().clone()
    path = [x]
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(x), x)
        x = (x - lr * g).detach()
        path.append(x)
    return torch.stack(path)


def _gd_without_x0(f, x0, lr, steps):
    return gradient_descent(f, x0, lr, steps)[1:]


def _gd_ascent(f, x0, lr, steps):
    return gradient_descent(f, x0, -lr, steps)


def _gd_final_only(f, x0, lr, steps):
    return gradient_descent(f, x0, lr, steps)[-1]


def _gd_one_extra(f, x0, lr, steps):
    return gradient_descent(f, x0, lr, steps + 1)


def _gd_accumulated(f, x0, lr, steps):
    x = x0.detach().clone().requires_grad_(True)
    path = [x0.detach().clone()]
    for _ in range(steps):
        f(x).backward()  # without zeroing, x.grad holds the sum of every gradient so far
        with torch.no_grad():
            x -= lr * x.grad
        path.append(x.detach().clone())
    return torch.stack(path)


def _gd_public() -> list[Case]:
    return [
        Case((BOWL, tensor([1.0, -2.0]), 0.1, 5), label="the bowl x² + y², 5 steps"),
        Case((ELONGATED, tensor([2.0, 1.0]), 0.15, 8), label="the elongated quadratic: zig-zag along y"),
        Case((BOWL, tensor([0.5, 0.5]), 0.1, 0), label="steps = 0: the trajectory is just x0"),
        Case((ROSENBROCK, tensor([-1.0, 1.5]), 0.0, 3), label="lr = 0: the point never moves"),
        Case((SUM_OF_SQUARES, tensor([1.0, 2.0, -3.0]), 0.25, 4), label="a 3-D start, Σ x²"),
        Case((HIMMELBLAU, tensor([0.0, 0.0]), 0.01, 10), label="Himmelblau from the origin"),
    ]


def _gd_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [Case((BOWL, uniform(rng, (2,), low=-2, high=2), float(rng.uniform(0.01, 0.4)),
                   int(rng.integers(1, 10))), label=N_("the bowl from a start in [-2, 2]², lr in [0.01, 0.4]"))]
    cases.append(Case((ELONGATED, uniform(rng, (2,), low=-2, high=2), float(rng.uniform(0.01, 0.19)),
                       int(rng.integers(1, 12))), label=N_("the elongated quadratic, lr in [0.01, 0.19]")))
    cases.append(Case((ROSENBROCK, uniform(rng, (2,), low=-1.5, high=1.5), float(rng.uniform(1e-4, 1e-3)),
                       int(rng.integers(1, 8))), label=N_("Rosenbrock, lr in [1e-4, 1e-3]")))
    return cases


register(Exercise(
    id="gradient_descent",
    notebook=NOTEBOOK,
    title=N_("Gradient descent, returning the whole trajectory"),
    signature="gradient_descent(f, x0, lr, steps)",
    reference=gradient_descent,
    public_cases=_gd_public,
    hidden_cases=_gd_hidden,
    rtol=1e-8,
    atol=1e-10,
    convention=N_("Row 0 of the result is x0 itself and row t is the point after t updates x ← x − lr·∇f(x): "
                  "shape (steps + 1, d), same dtype as x0; x0 is left unchanged."),
    rules=(must_use_autograd(N_("compute ∇f with autograd (backward() or torch.autograd.grad), since f can be "
                                "any function.")),),
    hints=(
        N_("Keep a list of points that starts with x0. Each step: the gradient at the current point, a step "
           "against it, the new point appended. At the end, stack the points into one tensor."),
        N_("Autograd gives the gradient at a point only if that point is a tensor that requires grad: make a "
           "fresh one at every step (from a detached copy), so no step's graph hangs on to the previous ones."),
    ),
    mistakes=(
        Mistake("missing-x0",
                N_("Your trajectory is missing its first row: include x0 itself, so the result has "
                   "steps + 1 rows."),
                wrong=_gd_without_x0),
        Mistake("ascent",
                N_("Your points move uphill: the update is x − lr·∇f(x) (minus: against the gradient)."),
                wrong=_gd_ascent),
        Mistake("final-only",
                N_("You returned only the final point; the exercise asks for every iterate stacked into a "
                   "(steps + 1, d) tensor."),
                wrong=_gd_final_only),
        Mistake("grad-not-zeroed",
                N_("Your steps use the sum of all gradients so far: .backward() adds into x.grad, so set "
                   "x.grad = None (or call x.grad.zero_()) after each step, or use torch.autograd.grad."),
                wrong=_gd_accumulated),
        Mistake("one-step-too-many",
                N_("Your trajectory has one update too many: `steps` updates give steps + 1 rows including x0."),
                wrong=_gd_one_extra),
    ),
))
