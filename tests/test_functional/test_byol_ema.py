"""BYOL's loss and the EMA target update against the papers' formulas."""
import math

import pytest
import torch

from ssl_plugins.functional.byol import byol_loss
from ssl_plugins.functional.ema import cosine_momentum, ema_update_


def reference_byol_loss(q, z):
    # Grill et al. eq. 2: || q/||q|| - z/||z|| ||_2^2, batch mean.
    qn = q / q.norm(dim=1, keepdim=True)
    zn = z / z.norm(dim=1, keepdim=True)
    return ((qn - zn)**2).sum(dim=1).mean()


def test_byol_loss_matches_paper_and_range():
    torch.manual_seed(0)
    q, z = torch.randn(32, 16), torch.randn(32, 16)
    assert torch.allclose(byol_loss(q, z), reference_byol_loss(q, z),
                          atol=1e-6)
    assert float(byol_loss(q, q)) == pytest.approx(0, abs=1e-6)
    assert float(byol_loss(q, -q)) == pytest.approx(4, abs=1e-5)


def test_byol_loss_stops_target_gradient():
    q = torch.randn(4, 8, requires_grad=True)
    z = torch.randn(4, 8, requires_grad=True)
    byol_loss(q, z).backward()
    assert q.grad is not None and z.grad is None


def test_byol_loss_shape_mismatch_is_named():
    with pytest.raises(ValueError, match=r'\(4, 8\).*\(4, 7\)'):
        byol_loss(torch.randn(4, 8), torch.randn(4, 7))


def test_cosine_momentum_schedule_points():
    base, K = 0.99, 1000
    assert cosine_momentum(base, 0, K) == pytest.approx(0.99)
    assert cosine_momentum(base, K // 2, K) == pytest.approx(0.995)
    assert cosine_momentum(base, K, K) == pytest.approx(1.0)
    k = 123  # BYOL §3.2 formula at an arbitrary step
    expected = 1 - (1 - base) * (math.cos(math.pi * k / K) + 1) / 2
    assert cosine_momentum(base, k, K) == pytest.approx(expected)


def test_foreach_ema_equals_per_parameter_formula():
    torch.manual_seed(0)
    target = [torch.randn(3, 4), torch.randn(5)]
    online = [torch.randn(3, 4), torch.randn(5)]
    expected = [0.9 * t + 0.1 * o for t, o in zip(target, online)]
    ema_update_(target, online, tau=0.9)
    for t, e in zip(target, expected):
        assert torch.allclose(t, e, atol=1e-6)


def test_ema_rejects_mismatched_lists():
    with pytest.raises(ValueError, match='2 target tensors but 1'):
        ema_update_([torch.zeros(1), torch.zeros(1)], [torch.zeros(1)], 0.5)
