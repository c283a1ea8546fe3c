r"""SimSiam's objective (Chen & He, CVPR 2021, Algorithm 1, eq. 1-2).

The prediction ``p_v`` of view ``v`` regresses the stopped-gradient
projection ``z_g`` of another (global) view:

.. math::
    \mathcal{D}(p, z) = -\frac{p}{\|p\|_2} \cdot \frac{z}{\|z\|_2},
    \qquad
    \mathcal{L} = \tfrac12 \mathcal{D}(p_1, \mathrm{sg}(z_2))
        + \tfrac12 \mathcal{D}(p_2, \mathrm{sg}(z_1))

in [-1, 1] (with more views: the mean over the pairs ``(v, g != v)``). A
per-sample mean, so under DDP (equal local batches) the ranks' average is
the global-batch loss: no collective.

Config: ``model=dict(type='SimSiam', neck=..., head=dict(
type='LatentPredictHead', predictor=..., loss=dict(type='SimSiamLoss')))``;
``SimSiamLoss`` names :func:`negative_cosine_similarity` (also in
``ssl_plugins.functional.simsiam``), ``LatentPredictHead`` averages it over
the view pairs.
"""
import torch
import torch.nn.functional as F

from ssl_plugins.registry import MODELS


def negative_cosine_similarity(p: torch.Tensor,
                               z: torch.Tensor) -> torch.Tensor:
    """``D(p, sg(z))`` averaged over the batch, in [-1, 1]; ``z`` is
    detached here (the stop-gradient is part of D in Algorithm 1).

    Args:
        p: ``(n, d)`` predictor outputs.
        z: ``(n, d)`` projector outputs of the other view.
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
    """The two-view ``L`` above (its minimum, -1, is the value the official
    code logs).

    Example:
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> float(simsiam_loss(z1, z2, z1, z2)) <= 1.0
        True
    """
    return 0.5 * negative_cosine_similarity(
        p1, z2) + 0.5 * negative_cosine_similarity(p2, z1)


# Config alias: loss=dict(type='SimSiamLoss') names
# negative_cosine_similarity (no wrapper class; LatentPredictHead calls it).
MODELS.register_module(name='SimSiamLoss', module=negative_cosine_similarity)
