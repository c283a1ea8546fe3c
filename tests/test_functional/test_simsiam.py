"""SimSiam loss: the paper's formula (Algorithm 1), stop-gradient, range,
collapse monitor."""
import math

import pytest
import torch

from ssl_plugins.functional.simsiam import (negative_cosine_similarity,
                                            normalized_output_std,
                                            simsiam_loss)


def reference_d(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """D(p, z) = -(p/||p||) . (z/||z||), averaged over the batch, written per
    sample."""
    values = [
        -(p[i] @ z[i]) / (p[i].norm() * z[i].norm()) for i in range(p.shape[0])
    ]
    return torch.stack(values).mean()


def test_loss_matches_paper_formula():
    torch.manual_seed(0)
    p1, p2, z1, z2 = (torch.randn(5, 7, dtype=torch.float64) for _ in range(4))
    expected = reference_d(p1, z2) / 2 + reference_d(p2, z1) / 2
    torch.testing.assert_close(simsiam_loss(p1, p2, z1, z2), expected)
    torch.testing.assert_close(negative_cosine_similarity(p1, z2),
                               reference_d(p1, z2))


def test_stop_gradient_on_z_and_gradient_on_p():
    torch.manual_seed(0)
    p1, p2, z1, z2 = (torch.randn(4,
                                  6,
                                  dtype=torch.float64,
                                  requires_grad=True) for _ in range(4))
    simsiam_loss(p1, p2, z1, z2).backward()
    assert z1.grad is None and z2.grad is None
    # p1's gradient equals the reference's gradient with z2 treated as a
    # constant.
    q1 = p1.detach().clone().requires_grad_()
    (reference_d(q1, z2.detach()) / 2).backward()
    torch.testing.assert_close(p1.grad, q1.grad)


def test_range_is_minus_one_to_one():
    z = torch.randn(8, 16)
    torch.testing.assert_close(simsiam_loss(z, z, z, z), torch.tensor(-1.0))
    torch.testing.assert_close(simsiam_loss(-z, -z, z, z), torch.tensor(1.0))


def test_output_std_detects_collapse():
    torch.manual_seed(0)
    d = 256
    spread = normalized_output_std(torch.randn(4096, d))
    assert abs(float(spread) - 1 / math.sqrt(d)) < 0.05 / math.sqrt(
        d)  # paper Fig. 2: ~1/sqrt(d)
    collapsed = normalized_output_std(
        torch.randn(1, d).expand(64, d) + 1e-6 * torch.randn(64, d))
    assert float(collapsed) < 1e-4


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match='equal shape'):
        simsiam_loss(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3),
                     torch.randn(4, 5))
