"""SimSiam loss and collapse monitor (Chen & He 2021, Algorithm 1 and Fig. 2).

The loss is a per-sample mean, so under DDP (equal local batch sizes) the
average of the ranks' losses is the global-batch loss: no collective is needed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# The collapse statistic of Fig. 2 lives with the other collapse diagnostics.
from .collapse import normalized_embedding_std as normalized_output_std

__all__ = [
    'negative_cosine_similarity', 'simsiam_loss', 'normalized_output_std'
]


def negative_cosine_similarity(p: torch.Tensor,
                               z: torch.Tensor) -> torch.Tensor:
    r"""The paper's
    :math:`\mathcal{D}(p, z) = -\frac{p}{\|p\|_2} \cdot \frac{z}{\|z\|_2}`,
    averaged over the batch.

    ``z`` is detached here (the stop-gradient is part of D in Algorithm 1).

    Args:
        p: ``(n, d)`` predictor outputs.
        z: ``(n, d)`` projector outputs of the other view.

    Returns:
        Scalar in [-1, 1].
    """
    if p.shape != z.shape or p.dim() != 2:
        raise ValueError(
            'negative_cosine_similarity expects two (batch, dim) tensors of '
            f'equal shape, got {tuple(p.shape)} and {tuple(z.shape)}')
    if p.dtype in (torch.float16, torch.bfloat16):  # fp32 under autocast
        p, z = p.float(), z.float()
    return -F.cosine_similarity(p, z.detach(), dim=1).mean()


def simsiam_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor,
                 z2: torch.Tensor) -> torch.Tensor:
    r"""Symmetrised SimSiam loss (paper eq. 2, stop-gradient on ``z``).

    .. math::
        \mathcal{L} = \tfrac12 \mathcal{D}(p_1, \mathrm{sg}(z_2))
            + \tfrac12 \mathcal{D}(p_2, \mathrm{sg}(z_1))

    Its minimum is -1 (the value logged by the official code and the paper's
    plots).

    Args:
        p1: ``(n, d)`` predictor output of view 1.
        p2: ``(n, d)`` predictor output of view 2.
        z1: ``(n, d)`` projector output of view 1 (gradients are stopped).
        z2: ``(n, d)`` projector output of view 2 (gradients are stopped).

    Returns:
        Scalar in [-1, 1].

    Example:
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> float(simsiam_loss(z1, z2, z1, z2)) <= 1.0
        True
    """
    return 0.5 * negative_cosine_similarity(
        p1, z2) + 0.5 * negative_cosine_similarity(p2, z1)
