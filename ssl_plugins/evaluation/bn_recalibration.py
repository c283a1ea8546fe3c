"""BN statistics of a data set for a network whose weights stay as they are."""
import torch
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from .feature_extraction import first_view


def recalibrate_bn(backbone: torch.nn.Module,
                   data_preprocessor: torch.nn.Module,
                   dataset,
                   batch_size: int = 500) -> torch.nn.Module:
    """Set every BN layer's running statistics to those of ``dataset``.

    Train-mode forward passes without gradients or weight changes; the
    running mean / variance become the cumulative average of the per-batch
    statistics (``momentum=None``), i.e. the data's mean and (for equal
    batches) nearly its variance. The control of "pretraining at lr 0": a
    randomly initialised network evaluated in eval mode otherwise uses the
    initial statistics (mean 0, variance 1), which make each BN an identity
    up to its affine parameters, unlike any trained network's.

    Args:
        backbone (nn.Module): changed in place (BN buffers and momentum).
        data_preprocessor (nn.Module): the model's (normalisation).
        dataset: samples with ``inputs`` (a pipeline ending in
            ``PackInputs``).
        batch_size (int): Defaults to 500 (60000 train images: 120 equal
            batches).

    Returns:
        nn.Module: ``backbone``.
    """
    bns = [m for m in backbone.modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over the batches
    was_training = backbone.training
    backbone.train()
    try:
        with torch.no_grad():
            for batch in DataLoader(dataset, batch_size=batch_size,
                                    collate_fn=default_collate):
                backbone(first_view(
                    data_preprocessor(batch, training=False)['inputs']))
    finally:
        backbone.train(was_training)
    return backbone
