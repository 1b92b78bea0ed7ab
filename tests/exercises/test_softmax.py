"""The softmax exercises' references agree with PyTorch, and realistic wrong answers get targeted hints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coursekit.exercises import get
from coursekit.exercises import softmax as S
from coursekit.exercises.softmax import (
    softmax,
    softmax_cross_entropy_grad,
    softmax_jacobian,
    softmax_with_temperature,
)
from coursekit.grading.check import check, run_case
from coursekit.grading.compare import judge
from coursekit.grading.plain import encode

FINITE = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_subnormal=False)
TINY = st.floats(min_value=-1e-300, max_value=1e-300, allow_nan=False)
SETTINGS = settings(max_examples=60, deadline=None)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _named(fn, name):
    fn.__name__ = name
    return fn


@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=FINITE | TINY),
       st.sampled_from([0, 1, -1]))
def test_softmax_matches_torch(values, dim):
    z = _tensor(values)
    got = softmax(z, dim=dim)
    torch.testing.assert_close(got, torch.softmax(z, dim=dim), rtol=1e-12, atol=1e-300)
    assert torch.isfinite(got).all()


def test_softmax_edge_cases():
    torch.testing.assert_close(softmax(torch.tensor([1000.0, 999.0, 0.0], dtype=torch.float64)),
                               torch.softmax(torch.tensor([1000.0, 999.0, 0.0], dtype=torch.float64), dim=0))
    empty = torch.zeros(0, 4, dtype=torch.float64)
    assert softmax(empty).shape == (0, 4)
    assert softmax(torch.tensor([[7.0]], dtype=torch.float64)).item() == 1.0
    z32 = torch.tensor([100.0, 0.0])  # exp(100) overflows float32
    torch.testing.assert_close(softmax(z32), torch.softmax(z32, dim=0))
    assert softmax(z32).dtype == torch.float32


@SETTINGS
@given(arrays(np.float64, st.integers(1, 7), elements=FINITE), st.floats(min_value=0.01, max_value=100.0))
def test_temperature_matches_torch(values, temperature):
    z = _tensor(values)
    torch.testing.assert_close(softmax_with_temperature(z, temperature), torch.softmax(z / temperature, dim=-1),
                               rtol=1e-12, atol=1e-300)


@SETTINGS
@given(arrays(np.float64, st.integers(1, 6), elements=FINITE | TINY))
def test_jacobian_matches_autograd(values):
    z = _tensor(values)
    expected = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), z)
    torch.testing.assert_close(softmax_jacobian(z), expected, rtol=1e-10, atol=1e-15)


def test_jacobian_structure():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(5, generator=gen, dtype=torch.float64)
    J = softmax_jacobian(z)
    assert (J.diagonal() > 0).all() and (J[~torch.eye(5, dtype=torch.bool)] < 0).all()
    torch.testing.assert_close(J, J.T)
    torch.testing.assert_close(J.sum(dim=1), torch.zeros(5, dtype=torch.float64))


@SETTINGS
@given(st.integers(1, 8), st.integers(2, 6), st.data())
def test_cross_entropy_grad_matches_autograd(n, classes, data):
    values = data.draw(arrays(np.float64, (n, classes), elements=FINITE))
    target = torch.tensor(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    logits = _tensor(values).requires_grad_()
    (expected,) = torch.autograd.grad(F.cross_entropy(logits, target), logits)
    torch.testing.assert_close(softmax_cross_entropy_grad(logits.detach(), target), expected,
                               rtol=1e-10, atol=1e-15)


def test_cross_entropy_grad_batch_of_one_and_empty_batch():
    logits = torch.tensor([[1.0, -1.0, 0.0, 2.0]], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([3])
    (expected,) = torch.autograd.grad(F.cross_entropy(logits, target), logits)
    torch.testing.assert_close(softmax_cross_entropy_grad(logits.detach(), target), expected)
    empty = softmax_cross_entropy_grad(torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.int64))
    assert empty.shape == (0, 3)


@pytest.mark.parametrize("exercise_id", ["softmax", "softmax_with_temperature", "softmax_jacobian",
                                         "softmax_cross_entropy_grad"])
def test_public_cases_include_large_logits(exercise_id):
    cases = get(exercise_id).cases()
    largest = max(float(a.abs().max()) for c in cases for a in c.args
                  if isinstance(a, torch.Tensor) and a.is_floating_point() and a.numel())
    scaled = [float(c.args[0].abs().max()) / c.args[1] for c in cases if len(c.args) > 1
              and isinstance(c.args[1], float)]
    assert max([largest, *scaled]) >= 800  # naive exp overflows on at least one public case


def test_learner_naive_softmax_gets_the_overflow_hint():
    def learner(z, dim=-1):
        return torch.exp(z) / torch.exp(z).sum(dim=dim, keepdim=True)

    result = check(_named(learner, "softmax"))
    assert result.status == "fail"
    assert "Subtract the maximum" in result.verdict.hint


def test_learner_diagonal_jacobian_gets_the_off_diagonal_hint():
    def learner(z):
        p = torch.softmax(z, dim=0)
        return torch.diag(p * (1 - p))

    result = check(_named(learner, "softmax_jacobian"))
    assert result.status == "fail" and "off-diagonal" in result.verdict.hint


def test_learner_without_mean_gets_the_batch_hint():
    def learner(logits, target):
        return torch.softmax(logits, dim=1) - F.one_hot(target, logits.shape[1]).to(logits.dtype)

    result = check(_named(learner, "softmax_cross_entropy_grad"))
    assert result.status == "fail" and "batch size N" in result.verdict.hint


def test_learner_multiplying_by_temperature_gets_the_divide_hint():
    def learner(z, temperature):
        return S.softmax(z * temperature, dim=-1)  # the learner's own stable softmax, applied wrongly

    result = check(_named(learner, "softmax_with_temperature"))
    assert result.status == "fail" and "divides" in result.verdict.hint


def test_torch_softmax_itself_is_refused_by_the_rule_and_would_otherwise_pass_every_case():
    def learner(z, dim=-1):
        return torch.softmax(z, dim=dim)

    result = check(_named(learner, "softmax"))
    assert result.status == "fail" and result.points == 0
    assert "write softmax yourself" in result.verdict.message and "torch.softmax" in result.verdict.message
    # the rule, not the numbers, is what fails it: without its rules the same answer is right
    unruled = dataclasses.replace(get("softmax"), rules=())
    for number, case in enumerate(unruled.cases(hidden_seed=3), start=1):
        verdict = judge(unruled, case, encode(unruled.expected(case)), run_case(unruled, case, learner), number=number)
        assert verdict.passed, verdict.message
