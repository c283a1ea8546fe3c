"""Exact t-SNE in plain torch (van der Maaten & Hinton, JMLR 2008).

Used by ``tools/analysis/visualize_tsne.py`` when scikit-learn is not
installed. Exact means O(N^2) memory and time per iteration: meant for the
few thousand points a t-SNE plot shows, not for whole data sets.

Algorithm (paper Sec. 3, Alg. 1, with the optimiser of the authors' code and
scikit-learn's defaults):

* conditional affinities ``p_{j|i} ∝ exp(-β_i ||x_i - x_j||²)`` with ``β_i``
  found by bisection so that each row's entropy is ``log(perplexity)``;
  joint ``P = (P_{cond} + P_{cond}^T) / 2N``;
* Student-t similarities in the map ``q_ij ∝ (1 + ||y_i - y_j||²)^{-1}``;
* gradient
  ``∂C/∂y_i = 4 Σ_j (p_ij - q_ij)(y_i - y_j)(1 + ||y_i - y_j||²)^{-1}``
  with early exaggeration 12 for 250 iterations, momentum 0.5 then 0.8,
  learning rate ``max(N / 12 / 4, 50)`` (scikit-learn's ``'auto'``) and the
  delta-bar-delta gains (+0.2 / x0.8, floor 0.01) of the reference code.
"""
import math
from typing import Optional

import torch


def _sq_dists(x: torch.Tensor) -> torch.Tensor:
    sq = (x * x).sum(1)
    return (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_min(0)


def conditional_affinities(x: torch.Tensor,
                           perplexity: float = 30.0,
                           tol: float = 1e-5,
                           max_steps: int = 200) -> torch.Tensor:
    """Row-stochastic ``p_{j|i}`` with every row's perplexity calibrated.

    Args:
        x (torch.Tensor): Points, shape ``(N, D)``.
        perplexity (float): Target ``exp(entropy)`` of each row, < N.
        tol (float): Tolerance on the entropy (nats).
        max_steps (int): Bisection steps.

    Returns:
        torch.Tensor: ``(N, N)`` float64, zero diagonal, rows sum to 1.
    """
    n = x.shape[0]
    if not 1 <= perplexity < n:
        raise ValueError(f'perplexity must be in [1, N={n}), got '
                         f'{perplexity}')
    d2 = _sq_dists(x.double())
    d2.fill_diagonal_(float('inf'))
    target = math.log(perplexity)
    beta = torch.ones(n, dtype=torch.float64, device=x.device)
    lo = torch.zeros_like(beta)
    hi = torch.full_like(beta, float('inf'))
    for _ in range(max_steps):
        logits = -d2 * beta[:, None]
        p = torch.softmax(logits, dim=1)
        logp = torch.log_softmax(logits, dim=1)
        entropy = -torch.where(p > 0, p * logp, torch.zeros_like(p)).sum(1)
        diff = entropy - target
        if diff.abs().max() < tol:
            break
        # entropy too high -> distribution too flat -> sharpen (raise beta)
        too_flat = diff > 0
        lo = torch.where(too_flat, beta, lo)
        hi = torch.where(too_flat, hi, beta)
        beta = torch.where(torch.isinf(hi), beta * 2, (lo + hi) / 2)
    return p


def tsne(x: torch.Tensor,
         dim: int = 2,
         perplexity: float = 30.0,
         n_iter: int = 1000,
         seed: int = 0,
         exaggeration: float = 12.0,
         learning_rate: Optional[float] = None) -> torch.Tensor:
    """Embed ``x`` into ``dim`` dimensions with exact t-SNE.

    Args:
        x (torch.Tensor): Points, shape ``(N, D)``.
        dim (int): Output dimensions.
        perplexity (float): Effective number of neighbours (paper: 5-50).
        n_iter (int): Gradient steps (the first 250 exaggerated).
        seed (int): Seed of the initial map ``N(0, 1e-4 I)``.
        exaggeration (float): Early exaggeration factor.
        learning_rate (float, optional): Default ``max(N / exag / 4, 50)``.

    Returns:
        torch.Tensor: ``(N, dim)`` float32 map, on ``x``'s device.

    Example:
        >>> y = tsne(torch.randn(200, 64), perplexity=20, n_iter=300)
    """
    if x.dim() != 2:
        raise ValueError(f'tsne expects (N, D) points, got {tuple(x.shape)}')
    n = x.shape[0]
    p = conditional_affinities(x, perplexity)
    # float32 from here: ~3x faster than float64, same maps
    p = ((p + p.T) / (2 * n)).clamp_min(1e-12).float()
    lr = learning_rate or max(n / exaggeration / 4, 50.0)
    g = torch.Generator().manual_seed(seed)
    y = (torch.randn(n, dim, generator=g) * 1e-4).to(x.device)
    update = torch.zeros_like(y)
    gains = torch.ones_like(y)
    stop_lying = min(250, n_iter // 4)
    for it in range(n_iter):
        early = it < stop_lying
        num = 1.0 / (1.0 + _sq_dists(y))
        num.fill_diagonal_(0)
        q = (num / num.sum()).clamp_min(1e-12)
        w = ((exaggeration if early else 1.0) * p - q) * num
        grad = 4 * (w.sum(1, keepdim=True) * y - w @ y)
        same_sign = (grad > 0) == (update > 0)
        gains = torch.where(same_sign, gains * 0.8,
                            gains + 0.2).clamp_min(0.01)
        update = (0.5 if early else 0.8) * update - lr * gains * grad
        y = y + update
        y = y - y.mean(0, keepdim=True)
    return y


def kl_divergence(p_joint: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """t-SNE cost ``KL(P || Q)`` of a map ``y`` (for tests/diagnostics)."""
    num = 1.0 / (1.0 + _sq_dists(y.double()))
    num.fill_diagonal_(0)
    q = (num / num.sum()).clamp_min(1e-12)
    p = p_joint.clamp_min(1e-12)
    return (p * (p / q).log()).sum()
