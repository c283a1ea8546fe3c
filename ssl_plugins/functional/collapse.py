"""Collapse diagnostics of embeddings: normalised std and effective rank.

Two cheap statistics of a batch of embeddings ``z`` of shape ``(N, d)``:

* :func:`normalized_embedding_std` -- SimSiam (Chen & He, 2021, Sec. 4.1 and
  Fig. 2): L2-normalise each embedding, take the standard deviation of every
  channel over the batch and average over channels. For embeddings spread
  over the unit sphere (e.g. i.i.d. isotropic Gaussian directions) it is close
  to ``1 / sqrt(d)``; a collapsed representation, where every sample maps to
  the same vector, gives 0.
* :func:`effective_rank` -- Roy & Vetterli (2007), "The effective rank: a
  measure of effective dimensionality", used by RankMe (Garrido et al., 2023)
  for SSL representations: ``exp(H(p))`` with ``p_k = s_k / sum_j s_j`` over
  the singular values ``s`` of the (centred) embedding matrix. It lies in
  ``[1, min(N, d)]``; dimensional collapse (a few directions carry all the
  variance) drives it towards 1 even when the std above still looks healthy.

:func:`teacher_entropy` tells DINO's two collapse modes apart (§5.3).

All functions are plain torch, work on any device, and never carry gradients.
"""
import torch
import torch.nn.functional as F


def _check_2d(z: torch.Tensor, name: str) -> None:
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z)
        raise ValueError(f'{name} expects embeddings of shape (N, d), '
                         f'got {shape}')
    if z.shape[0] < 2:
        raise ValueError(f'{name} needs at least 2 embeddings to measure a '
                         f'spread over the batch, got N={z.shape[0]}')


@torch.no_grad()
def normalized_embedding_std(z: torch.Tensor,
                             eps: float = 1e-12) -> torch.Tensor:
    """Mean per-channel std of L2-normalised embeddings (SimSiam Fig. 2).

    .. math::
        \\mathrm{std} = \\frac{1}{d} \\sum_{c=1}^{d}
        \\mathrm{std}_{i}\\left(\\frac{z_{i,c}}{\\lVert z_i \\rVert_2}\\right)

    Healthy: about ``1/sqrt(d)``. Collapsed (all rows equal): 0.

    Args:
        z (torch.Tensor): Embeddings, shape ``(N, d)`` with ``N >= 2``.
        eps (float): Floor of the norm in the normalisation.

    Returns:
        torch.Tensor: 0-dim float32 tensor.

    Example:
        >>> z = torch.randn(4096, 128)
        >>> float(normalized_embedding_std(z)) * 128 ** 0.5  # ~1.0
    """
    _check_2d(z, 'normalized_embedding_std')
    z = z.detach().float()
    z = z / z.norm(dim=1, keepdim=True).clamp_min(eps)
    # unbiased=False: the population std of the batch, as in the paper's plot
    return z.std(dim=0, unbiased=False).mean()


@torch.no_grad()
def effective_rank(z: torch.Tensor,
                   center: bool = True,
                   eps: float = 1e-12) -> torch.Tensor:
    """Effective rank ``exp(H(p))`` of the singular values (Roy & Vetterli).

    .. math::
        p_k = \\frac{\\sigma_k}{\\sum_j \\sigma_j}, \\qquad
        \\mathrm{erank}(Z) = \\exp\\left(-\\sum_k p_k \\log p_k\\right)

    Args:
        z (torch.Tensor): Embeddings, shape ``(N, d)`` with ``N >= 2``.
        center (bool): Subtract the batch mean first, so that the rank counts
            directions of *variation* (a constant offset shared by every
            sample would otherwise count as one direction). RankMe uses the
            raw matrix: pass ``center=False`` to reproduce it.
        eps (float): Floor added to ``p`` inside the log (RankMe uses 1e-7
            on ``p``; here terms with ``p = 0`` contribute exactly 0).

    Returns:
        torch.Tensor: 0-dim float32 tensor in ``[1, min(N, d)]`` (1 for an
        all-zero matrix).

    Example:
        >>> effective_rank(torch.randn(512, 8))  # close to 8
        >>> effective_rank(torch.randn(512, 1) * torch.randn(1, 8))  # 1
    """
    _check_2d(z, 'effective_rank')
    z = z.detach().float()
    if center:
        z = z - z.mean(dim=0, keepdim=True)
    s = torch.linalg.svdvals(z)
    total = s.sum()
    if total <= eps:
        return torch.ones((), device=z.device)
    p = s / total
    entropy = -(p * torch.log(p.clamp_min(eps))).sum()
    return entropy.exp()


@torch.no_grad()
def teacher_entropy(teacher_out: torch.Tensor, center: torch.Tensor,
                    teacher_temp: float) -> torch.Tensor:
    """Mean entropy of DINO's centred, sharpened teacher distributions
    ``softmax((t - c) / tau_t)``: near ln K when the teacher is uniform
    (collapse by centring), near 0 when one dimension dominates (collapse
    by sharpening); DINO §5.3 / Fig. 7 tell the two modes apart with it and
    with the teacher-student KL divergence (the loss minus this entropy)."""
    logits = (teacher_out.detach().float()
              - center.reshape(1, -1).float()) / teacher_temp
    log_q = F.log_softmax(logits, dim=-1)
    return -(log_q.exp() * log_q).sum(-1).mean()
