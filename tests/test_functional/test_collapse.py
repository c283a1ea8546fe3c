import math

import pytest
import torch

from ssl_plugins.functional.collapse import (effective_rank,
                                             normalized_embedding_std)


def reference_std(z):
    """Loop version: normalise each row, per-channel population std."""
    rows = [row / math.sqrt(sum(float(v)**2 for v in row)) for row in z]
    n, d = len(rows), len(rows[0])
    stds = []
    for c in range(d):
        col = [float(r[c]) for r in rows]
        mean = sum(col) / n
        stds.append(math.sqrt(sum((v - mean)**2 for v in col) / n))
    return sum(stds) / d


def reference_erank(z, center=True):
    import numpy as np
    a = z.double().numpy()
    if center:
        a = a - a.mean(0, keepdims=True)
    s = np.linalg.svd(a, compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def test_std_matches_reference_on_random_input():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(37, 11, generator=g) * 3 + 1
    assert normalized_embedding_std(z).item() == pytest.approx(
        reference_std(z), rel=1e-5)


def test_std_healthy_is_inverse_sqrt_d():
    g = torch.Generator().manual_seed(1)
    for d in (16, 128, 2048):
        z = torch.randn(4096, d, generator=g)
        value = normalized_embedding_std(z).item()
        assert value * math.sqrt(d) == pytest.approx(1.0, abs=0.03)


def test_std_collapsed_is_zero_and_partial_collapse_is_small():
    g = torch.Generator().manual_seed(2)
    v = torch.randn(1, 64, generator=g)
    # complete collapse, with different scales per sample (norm removes them)
    z = v * torch.rand(256, 1, generator=g).add(0.5)
    assert normalized_embedding_std(z).item() < 1e-6
    # near collapse: a shared direction plus small noise
    z = v.expand(256, 64) + 0.01 * torch.randn(256, 64, generator=g)
    healthy = 1 / math.sqrt(64)
    assert normalized_embedding_std(z).item() < 0.05 * healthy


def test_effective_rank_matches_reference_and_bounds():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(50, 20, generator=g) @ torch.randn(20, 30, generator=g)
    for center in (True, False):
        assert effective_rank(z, center=center).item() == pytest.approx(
            reference_erank(z, center), rel=1e-4)
    # isotropic Gaussian: nearly full rank
    z = torch.randn(4096, 16, generator=g)
    assert 15.0 < effective_rank(z).item() <= 16.0 + 1e-4
    # rank-1 data (collapsed to a line) -> 1, rank-3 with equal energy -> 3
    z = torch.randn(500, 1, generator=g) * torch.randn(1, 16, generator=g)
    assert effective_rank(z, center=False).item() == pytest.approx(1.0,
                                                                   abs=1e-3)
    q, _ = torch.linalg.qr(torch.randn(16, 3, generator=g))
    basis = torch.eye(3).repeat(100, 1)  # 300 x 3, orthogonal equal columns
    assert effective_rank(basis @ q.T,
                          center=False).item() == pytest.approx(3.0, abs=1e-3)


def test_effective_rank_of_constant_embeddings_is_one():
    z = torch.ones(10, 4)
    assert effective_rank(z).item() == 1.0


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match=r'\(N, d\)'):
        normalized_embedding_std(torch.randn(3, 4, 5))
    with pytest.raises(ValueError, match='at least 2'):
        effective_rank(torch.randn(1, 8))


def test_no_grad_and_dtype():
    z = torch.randn(8, 4, requires_grad=True, dtype=torch.float64)
    out = normalized_embedding_std(z)
    assert not out.requires_grad and out.dtype == torch.float32
