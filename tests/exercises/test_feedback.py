"""What a learner is told: stability weighs what it should, targeted hints for the mistakes learners make,
errors explained, and hints that lead without handing over the answer."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest
import torch

from coursekit.exercises import all_exercises, get
from coursekit.exercises.model import Case, Exercise
from coursekit.grading.check import check, run_case
from coursekit.grading.compare import judge
from coursekit.grading.plain import encode


def _define(source: str, name: str):
    namespace: dict = {}
    exec("import torch\nimport torch.nn.functional as F\n" + textwrap.dedent(source), namespace)  # noqa: S102
    return namespace[name]


# --- stability carries real weight -----------------------------------------------------------------------------

UNSTABLE = [
    ("sigmoid", "def sigmoid(x):\n    return 1 / (1 + torch.exp(-x))"),
    ("sigmoid", "def sigmoid(x):\n    return torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))"),
    ("softplus", "def softplus(x):\n    return torch.log(1 + torch.exp(x))"),
    ("softplus", "def softplus(x):\n    return torch.where(x > 20, x, torch.log1p(torch.exp(x)))"),
    ("elu", "def elu(x, alpha=1.0):\n    return torch.where(x > 0, x, alpha * (torch.exp(x) - 1))"),
    ("sigmoid_grad", "def sigmoid_grad(x):\n    return torch.exp(-x) / (1 + torch.exp(-x)) ** 2"),
    ("softmax", "def softmax(z, dim=-1):\n    e = z.exp()\n    return e / e.sum(dim=dim, keepdim=True)"),
    ("softmax_with_temperature",
     "def softmax_with_temperature(z, temperature):\n    e = (z / temperature).exp()\n    return e / e.sum(-1, keepdim=True)"),
    ("softmax_jacobian",
     "def softmax_jacobian(z):\n    p = z.exp() / z.exp().sum()\n    return torch.diag(p) - torch.outer(p, p)"),
    ("softmax_cross_entropy_grad", "def softmax_cross_entropy_grad(logits, target):\n"
     "    p = logits.exp() / logits.exp().sum(1, keepdim=True)\n"
     "    return (p - F.one_hot(target, logits.shape[1]).to(logits.dtype)) / max(len(target), 1)"),
    ("cross_entropy", "def cross_entropy(logits, target):\n"
     "    p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)\n"
     "    return -torch.log(p[torch.arange(len(target)), target]).mean()"),
    ("binary_cross_entropy_with_logits", "def binary_cross_entropy_with_logits(logits, target):\n"
     "    p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)\n"
     "    return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()"),
]


@pytest.mark.parametrize("exercise_id,source", UNSTABLE, ids=[f"{i}-{n}" for n, (i, _) in enumerate(UNSTABLE)])
def test_an_unstable_answer_earns_at_most_half_the_points(exercise_id, source):
    result = check(_define(source, exercise_id))
    assert result.status == "fail" and result.points <= 0.5 * get(exercise_id).points, repr(result)


STABLE = [e for e in all_exercises() if e.derivative is not None]


@pytest.mark.parametrize("exercise", STABLE, ids=[e.id for e in STABLE])
def test_the_reference_gradient_is_the_analytic_derivative_everywhere_the_check_looks(exercise):
    """The stability exercises compare autograd's gradient with `derivative`: the reference must agree with it."""
    gradient_cases = [c for c in exercise.cases(hidden_seed=11) if c.gradient]
    assert gradient_cases and any(not c.hidden for c in gradient_cases)
    for case in gradient_cases:
        first = case.args[0].detach().clone().requires_grad_(True)
        out = exercise.reference(first, *case.args[1:], **case.kwargs)
        v = torch.ones_like(out) if case.grad_output is None else case.grad_output
        (grad,) = torch.autograd.grad(out, first, grad_outputs=v)
        torch.testing.assert_close(grad, exercise.expected(case), rtol=1e-9, atol=1e-15)


def test_the_sigmoid_reference_has_slope_one_quarter_at_zero():
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    get("sigmoid").reference(x).backward()
    assert x.grad.item() == 0.25


# --- targeted messages for the mistakes learners make ---------------------------------------------------------

def _hint(exercise_id: str, source: str) -> str:
    result = check(_define(source, exercise_id))
    assert result.status in ("fail", "error"), repr(result)
    return result.verdict.hint or ""


def _message(exercise_id: str, name: str) -> str:
    return next(m.message for m in get(exercise_id).mistakes if m.name == name)


@pytest.mark.parametrize("exercise_id,mistake,source", [
    ("sigmoid_grad", "plus-sign", "def sigmoid_grad(x):\n    s = torch.sigmoid(x)\n    return s * (1 + s)"),
    ("elu", "exp-branch-everywhere", "def elu(x, alpha=1.0):\n    return alpha * (torch.exp(x) - 1)"),
    ("softmax", "wrong-dim", "def softmax(z, dim=-1):\n    d = 0 if z.dim() > 1 and dim != 0 else -1\n"
                             "    e = (z - z.amax(dim=d, keepdim=True)).exp()\n    return e / e.sum(dim=d, keepdim=True)"),
    ("softmax", "global-max", "def softmax(z, dim=-1):\n    e = (z - z.max()).exp() if z.numel() else z\n"
                              "    return e / e.sum(dim=dim, keepdim=True)"),
    ("binary_cross_entropy_with_logits", "sigmoid-then-clamp",
     "def binary_cross_entropy_with_logits(logits, target):\n    p = torch.sigmoid(logits).clamp(1e-12, 1 - 1e-12)\n"
     "    return torch.mean(-target * torch.log(p) - (1 - target) * torch.log(1 - p))"),
    ("init_std", "uniform-bound", "import math\ndef init_std(fan_in, fan_out, nonlinearity):\n"
     "    if nonlinearity == 'relu':\n        return math.sqrt(6 / fan_in)\n"
     "    gain = {'tanh': 5 / 3}.get(nonlinearity, 1.0)\n    return gain * math.sqrt(6 / (fan_in + fan_out))"),
    ("two_output_grads", "graph-freed", "def two_output_grads(a):\n    a = a.detach().clone().requires_grad_(True)\n"
     "    p = torch.softmax(a, dim=0)\n    return torch.autograd.grad(p[1], a)[0], torch.autograd.grad(p[2], a)[0]"),
    ("second_derivative", "no-create-graph", "def second_derivative(f, x):\n    x = x.detach().clone().requires_grad_()\n"
     "    (g,) = torch.autograd.grad(f(x), x)\n    return torch.autograd.grad(g, x)[0].item()"),
    ("sgd_steps", "leaf-in-place", "def sgd_steps(w0, x, y, lr, steps):\n    w = w0.detach().clone().requires_grad_(True)\n"
     "    for _ in range(steps):\n        ((x @ w - y) ** 2).mean().backward()\n        w -= lr * w.grad\n"
     "        w.grad = None\n    return w.detach()"),
])
def test_a_common_mistake_gets_its_targeted_hint(exercise_id, mistake, source):
    assert _hint(exercise_id, source) == _message(exercise_id, mistake)


def test_nudging_the_input_in_place_and_putting_it_back_is_explained():
    source = """
def numerical_gradient(f, x, h=1e-5):
    flat = x.reshape(-1)
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        flat[i] += h
        plus = f(x)
        flat[i] -= 2 * h
        minus = f(x)
        flat[i] += h
        grad[i] = (plus - minus) / (2 * h)
    return grad.reshape(x.shape)
"""
    result = check(_define(source, "numerical_gradient"))
    assert result.status == "fail"
    assert "put it back, but not exactly" in result.verdict.message and "x + h − 2h + h" in result.verdict.message


def test_a_loss_returned_as_a_python_float_is_refused_with_the_reason():
    result = check(_define("def mse(pred, target):\n    return ((pred - target) ** 2).mean().item()", "mse"))
    assert result.status == "fail" and "0-d tensor" in result.verdict.message and "backpropagated" in result.verdict.message
    # where the contract allows a number, a float is fine
    directional = "def directional_derivative(grad, v):\n    return float(grad @ v / v.norm())"
    assert check(_define(directional, "directional_derivative")).status == "pass"


# A dict-valued answer, as a value exercise asks for one (the bank has none at present, so a stand-in that is
# not registered: the same judge() that check() and the grader use).
DICT_EXERCISE = Exercise(
    id="second_backward_runs", notebook="06_retain_graph", kind="value", title="Which graphs survive a second backward?",
    reference=lambda: {"(a + 1).sum()": True, "(a * a).sum()": False, "(3 * a).sum()": False, "a.exp().sum()": False,
                       "a.sum() + a.mean()": True},
    public_cases=lambda: [Case(label="a dict of five graphs")])


def _dict_message(answer) -> str:
    case = DICT_EXERCISE.cases()[0]
    verdict = judge(DICT_EXERCISE, case, encode(DICT_EXERCISE.expected(case)),
                    run_case(DICT_EXERCISE, case, answer), number=1)
    assert verdict.status == "fail"
    return verdict.message


def test_every_unexpected_key_is_named_with_the_key_it_probably_meant():
    answer = {"(a + 1).sum()": True, "(a*a).sum()": False, "(3 * a).sum()": False, "a.exp().sum()": False,
              "a.sum()+a.mean()": True}
    message = _dict_message(answer)
    assert "'(a*a).sum()' is not one of the keys (did you mean '(a * a).sum()'?)" in message
    assert "'a.sum()+a.mean()' is not one of the keys (did you mean 'a.sum() + a.mean()'?)" in message


def test_every_wrong_entry_of_a_dict_answer_is_reported():
    answer = {"(a + 1).sum()": False, "(a * a).sum()": True, "(3 * a).sum()": False, "a.exp().sum()": False,
              "a.sum() + a.mean()": True}
    message = _dict_message(answer)
    assert "second_backward_runs: 2 of 5 entries are wrong" in message
    assert "['(a + 1).sum()']" in message and "['(a * a).sum()']" in message


# --- errors raised by the learner's code are explained ---------------------------------------------------------

def test_an_error_from_the_learners_code_comes_with_its_explanation_and_the_section_that_teaches_it():
    source = "def second_derivative(f, x):\n    x = x.detach().clone().requires_grad_()\n" \
             "    (g,) = torch.autograd.grad(f(x), x)\n    return torch.autograd.grad(g, x)[0].item()"
    result = check(_define(source, "second_derivative"))
    assert result.status == "error" and result.verdict.explanation is not None
    assert "create_graph=True" in result.verdict.explanation.fix
    assert "06_retain_graph.ipynb" in repr(result) and "06_retain_graph.ipynb#" in result._repr_html_()


# --- hints lead; they do not hand over the answer ----------------------------------------------------------------

FUNCTIONS = [e for e in all_exercises() if e.kind == "function"]


def _snippets(text: str) -> list[str]:
    return [s for s in re.findall(r"`([^`]+)`", text) if s.strip()]


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=[e.id for e in FUNCTIONS])
def test_no_code_in_a_hint_or_note_is_itself_a_passing_answer(exercise):
    params = ", ".join(inspect.signature(exercise.reference).parameters)
    texts = [*exercise.hints, exercise.convention]
    for snippet in (s for text in texts for s in _snippets(text)):
        body = snippet.removeprefix("return ").strip()
        try:
            ast.parse(body, mode="eval")
        except SyntaxError:
            continue
        candidate = _define(f"def {exercise.id}({params}):\n    return {body}", exercise.id)
        assert check(candidate).status != "pass", f"{exercise.id}: the hint snippet `{snippet}` is the answer"


def _returned_expression(exercise) -> str | None:
    """The reference's last return expression, when it computes something (not a bare name, tuple or literal)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(exercise.reference)))
    returns = [n for n in ast.walk(tree) if isinstance(n, ast.Return) and n.value is not None]
    if not returns or not any(isinstance(n, (ast.Call, ast.BinOp)) for n in ast.walk(returns[-1].value)):
        return None
    return ast.unparse(returns[-1].value)


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=[e.id for e in FUNCTIONS])
def test_no_hint_or_note_spells_out_the_references_return_expression(exercise):
    expression = _returned_expression(exercise)
    if expression is None or len(expression) < 12:
        return
    squeeze = re.compile(r"\s+")
    wanted = squeeze.sub("", expression)
    for text in (*exercise.hints, exercise.convention):
        assert wanted not in squeeze.sub("", text), f"{exercise.id}: `{expression}` is in {text!r}"


@pytest.mark.parametrize("exercise", all_exercises(), ids=[e.id for e in all_exercises()])
def test_hints_escalate_and_differ(exercise):
    assert 1 <= len(exercise.hints) <= 4 and len(set(exercise.hints)) == len(exercise.hints)
