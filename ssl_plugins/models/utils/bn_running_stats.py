"""Forward passes that leave the BatchNorm running statistics as they are."""
import contextlib
from typing import Iterator

from torch import nn


@contextlib.contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Inside the block, ``module``'s BatchNorms do not update their running
    mean / variance; nothing else changes.

    In training mode a BatchNorm normalises with the statistics of the batch
    either way, so the outputs and the gradients are the same as without the
    block: only the buffers that eval mode reads are kept away from these
    inputs. Multi-crop methods use it for the small crops, so that the
    network evaluated on full images (kNN, linear probe) has the statistics
    of full-size views, not a mix of 28 px and 12 px ones (with 6 local
    crops per 2 global ones, half the updates come from the small crops).

    Example:
        >>> with frozen_running_stats(backbone):
        ...     local_feats = backbone(local_crops)
    """
    norms = [m for m in module.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats]
    for m in norms:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in norms:
            m.track_running_stats = True
