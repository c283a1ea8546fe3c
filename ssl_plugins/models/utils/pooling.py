"""Global average pooling of a backbone's feature map."""
import torch


def global_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """Mean over the spatial dimensions of a 4-d map; anything else as is.

    ``(N, C, H, W) -> (N, C)``, as torchvision ResNet's ``avgpool`` +
    ``flatten`` (and mmpretrain's ``GlobalAveragePooling``). Features that
    are already pooled (``(N, C)``) or token sequences (``(N, L, C)``) pass
    through unchanged, so one call serves ResNets and ViTs.

    Args:
        x (Tensor): ``(N, C, H, W)`` map, or features of another rank.

    Returns:
        Tensor: ``(N, C)`` for a 4-d input, else ``x`` itself.
    """
    return x.mean(dim=(2, 3)) if x.dim() == 4 else x
