"""BYOL's regression loss (Grill et al., 2020, eq. 2)."""
import torch
import torch.nn.functional as F


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
    q = F.normalize(prediction, dim=1)
    z = F.normalize(target.detach(), dim=1)
    return (2 - 2 * (q * z).sum(dim=1)).mean()
