"""The generated 2-D data sets: shapes, labels, determinism and the geometry they promise."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.datasets import spirals, two_moons

SETTINGS = settings(max_examples=30, deadline=None)


@SETTINGS
@given(n=st.integers(2, 500), seed=st.integers(0, 2**31 - 1))
def test_two_moons_shapes_dtypes_and_balanced_labels(n, seed):
    X, y = two_moons(n, seed=seed)
    assert X.shape == (n, 2) and X.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64
    assert int((y == 0).sum()) == n // 2 and int((y == 1).sum()) == n - n // 2


def test_two_moons_is_deterministic_per_seed_and_keeps_the_requested_dtype():
    a = two_moons(50, noise=0.2, seed=3, dtype=torch.float64)
    b = two_moons(50, noise=0.2, seed=3, dtype=torch.float64)
    c = two_moons(50, noise=0.2, seed=4, dtype=torch.float64)
    assert a[0].dtype == torch.float64
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_noise_free_moons_lie_on_their_half_circles():
    X, y = two_moons(400, noise=0.0, seed=1, dtype=torch.float64)
    upper, lower = X[y == 0], X[y == 1]
    torch.testing.assert_close(upper.norm(dim=1), torch.ones(len(upper), dtype=torch.float64))
    assert (upper[:, 1] >= 0).all()
    centre = torch.tensor([1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close((lower - centre).norm(dim=1), torch.ones(len(lower), dtype=torch.float64))
    assert (lower[:, 1] <= 0.5).all()


def test_noise_has_the_requested_standard_deviation():
    clean, _ = two_moons(20000, noise=0.0, seed=2, dtype=torch.float64)
    noisy, _ = two_moons(20000, noise=0.3, seed=2, dtype=torch.float64)
    assert (noisy - clean).std().item() == pytest.approx(0.3, rel=0.03)


@SETTINGS
@given(n=st.integers(2, 300), classes=st.integers(2, 5), seed=st.integers(0, 1000))
def test_spirals_shapes_and_labels(n, classes, seed):
    X, y = spirals(n, classes=classes, seed=seed)
    assert X.shape == (n, 2) and y.shape == (n,) and y.dtype == torch.int64
    counts = torch.bincount(y, minlength=classes)
    assert counts.max() - counts.min() <= 1 and len(counts) == classes


def test_noise_free_spiral_points_follow_their_arm():
    X, y = spirals(300, classes=3, turns=1.25, noise=0.0, seed=0, dtype=torch.float64)
    r = X.norm(dim=1)
    assert (r > 0).all() and (r <= 1 + 1e-12).all()
    # angle = 2π (turns · r + c / classes), up to whole turns
    angle = torch.atan2(X[:, 1], X[:, 0])
    expected = 2 * math.pi * (1.25 * r + y.to(torch.float64) / 3)
    diff = torch.remainder(angle - expected + math.pi, 2 * math.pi) - math.pi
    assert diff.abs().max().item() < 1e-9


@pytest.mark.parametrize("call,match", [
    (lambda: two_moons(1), "n must be an integer >= 2"),
    (lambda: two_moons(10, noise=-0.1), "cannot be negative"),
    (lambda: spirals(10, classes=1), "at least 2 classes"),
])
def test_bad_arguments_say_how_to_fix_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()
