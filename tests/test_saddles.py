"""Critical points and Hessian spectra: the linear network's list is exact, the tanh network is as written."""

from __future__ import annotations

import math

import pytest
import torch

from coursekit import saddles


def _target(n: int = 5):
    gen = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    s = torch.arange(n, 0, -1, dtype=torch.float64)
    return u @ torch.diag(s) @ v.T, s


def test_hessian_index_counts_clearly_negative_eigenvalues():
    assert saddles.hessian_index(torch.tensor([-2.0, -1e-9, 0.0, 3.0])) == 1
    assert saddles.hessian_index(torch.tensor([1.0, 2.0])) == 0


def test_spectrum_of_a_known_quadratic():
    a = torch.tensor([[2.0, 1.0], [1.0, -3.0]], dtype=torch.float64)
    got = saddles.spectrum(lambda th: 0.5 * th @ a @ th, torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(got, torch.linalg.eigvalsh(a))


@pytest.mark.parametrize("hidden", [1, 2, 3])
def test_linear_critical_points_are_critical_with_the_stated_loss_and_one_minimum(hidden):
    target, s = _target()
    points = saddles.linear_critical_points(target, hidden)
    assert len(points) == sum(math.comb(5, j) for j in range(hidden + 1))
    indices = []
    for cp in points:
        theta = cp.theta.clone().requires_grad_(True)
        value = saddles.linear_network_loss(theta, target, hidden)
        (grad,) = torch.autograd.grad(value, theta)
        assert grad.norm() < 1e-10
        assert value.item() == pytest.approx(cp.loss)
        assert cp.loss == pytest.approx(0.5 * sum(float(s[i]) ** 2 for i in range(5) if i not in cp.modes))
        indices.append(saddles.hessian_index(saddles.spectrum(
            lambda th: saddles.linear_network_loss(th, target, hidden), cp.theta)))
    minima = [cp.modes for cp, k in zip(points, indices, strict=True) if k == 0]
    assert minima == [tuple(range(hidden))] and points[0].modes == tuple(range(hidden))


def test_linear_critical_points_refuse_bad_targets():
    with pytest.raises(ValueError, match="square"):
        saddles.linear_critical_points(torch.ones(2, 3, dtype=torch.float64), 1)
    with pytest.raises(ValueError, match="distinct"):
        saddles.linear_critical_points(torch.eye(3, dtype=torch.float64), 1)
    with pytest.raises(ValueError, match="hidden"):
        saddles.linear_critical_points(_target()[0], 0)


def test_tanh_net_loss_is_the_two_layer_network_it_describes():
    hidden = 4
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(10, 2, generator=gen, dtype=torch.float64)
    t = torch.randn(10, generator=gen, dtype=torch.float64)
    theta = torch.randn(saddles.tanh_net_size(hidden), generator=gen, dtype=torch.float64)
    layer1 = torch.nn.Linear(2, hidden).double()
    layer2 = torch.nn.Linear(hidden, 1).double()
    with torch.no_grad():
        layer1.weight.copy_(theta[:8].reshape(4, 2))
        layer1.bias.copy_(theta[8:12])
        layer2.weight.copy_(theta[12:16].reshape(1, 4))
        layer2.bias.copy_(theta[16:])
        expected = 0.5 * (layer2(torch.tanh(layer1(x))).squeeze(1) - t).pow(2).mean()
    torch.testing.assert_close(saddles.tanh_net_loss(theta, x, t, hidden), expected)
    with pytest.raises(ValueError, match="17 entries"):
        saddles.tanh_net_loss(theta[:-1], x, t, hidden)


def test_gradient_descent_records_every_point_of_the_plain_update():
    a = torch.diag(torch.tensor([1.0, 4.0], dtype=torch.float64))
    run = saddles.gradient_descent(lambda th: 0.5 * th @ a @ th, torch.tensor([1.0, 1.0], dtype=torch.float64),
                                   lr=0.1, steps=5)
    assert run.thetas.shape == (6, 2) and run.losses.shape == run.grad_norms.shape == (6,)
    expected = torch.stack([torch.tensor([0.9**k, 0.6**k], dtype=torch.float64) for k in range(6)])
    torch.testing.assert_close(run.thetas, expected)
    torch.testing.assert_close(run.grad_norms, (expected @ a).norm(dim=1))
    with pytest.raises(ValueError, match="steps"):
        saddles.gradient_descent(lambda th: th.sum(), torch.zeros(1), lr=0.1, steps=-1)
