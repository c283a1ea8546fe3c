"""BYOL's regression loss (Grill et al., 2020, eq. 2)."""
import torch
import torch.nn.functional as F


def _at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def byol_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Normalised MSE between a prediction and a stopped-gradient target.

        L = || q / ||q|| - z' / ||z'|| ||^2 = 2 - 2 cos(q, z')   in [0, 4]

    averaged over the batch. The gradient does not flow into ``target``.

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
