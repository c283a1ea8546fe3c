"""BYOL's objective (Grill et al., NeurIPS 2020, §3.1 eq. 2, §3.2).

The online network's prediction ``q_v`` of view ``v`` regresses the target
network's projection ``z'_g`` of another (global) view, normalised::

    l(q, z') = || q / ||q|| - z' / ||z'|| ||^2 = 2 - 2 cos(q, z')   in [0, 4]

    L = mean over (v, g != v) of l(q_v, sg(z'_g))

(two views: ``(l(q_1, z'_2) + l(q_2, z'_1)) / 2``, the paper's symmetrised
sum halved so the value reads on its [0, 4] scale; under LARS the factor
does not change the update). The target follows ``xi <- tau xi + (1 - tau)
theta`` once per optimizer step (``BYOL``, ``TargetMomentumHook``).

Config: ``model=dict(type='BYOL', base_momentum=0.99, neck=...,
head=dict(type='LatentPredictHead', predictor=..., loss=dict(
type='BYOLLoss')))``; ``BYOLLoss`` names :func:`byol_loss` (also
``ssl_plugins.functional.byol.byol_loss``), ``LatentPredictHead`` averages
it over the view pairs.
"""
import torch
import torch.nn.functional as F

from ssl_plugins.registry import MODELS


def _at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def byol_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``l`` above averaged over the batch; no gradient into ``target``.

    Args:
        prediction (Tensor): (N, D) online predictions ``q``.
        target (Tensor): (N, D) target projections ``z'``.

    Example:
        >>> q = torch.randn(8, 256)
        >>> float(byol_loss(q, q))  # identical directions
        0.0
    """
    if prediction.shape != target.shape:
        raise ValueError(f'byol_loss: prediction {tuple(prediction.shape)} '
                         f'and target {tuple(target.shape)} differ')
    # fp32 at least: under bf16/fp16 autocast the value would carry 2-3
    # significant digits only (the loss sits near 2 early in training).
    q = F.normalize(_at_least_fp32(prediction), dim=1)
    z = F.normalize(_at_least_fp32(target.detach()), dim=1)
    return (2 - 2 * (q * z).sum(dim=1)).mean()


# Config alias: loss=dict(type='BYOLLoss') names byol_loss (no wrapper
# class; LatentPredictHead calls it).
MODELS.register_module(name='BYOLLoss', module=byol_loss)
