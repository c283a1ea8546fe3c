"""Backbone features of a whole data set (for kNN, t-SNE, ...)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from ssl_plugins.models.utils.pooling import global_avg_pool


def _pool(feats) -> torch.Tensor:
    if isinstance(feats, (tuple, list)):
        feats = feats[-1]
    return global_avg_pool(feats)


def first_view(inputs):
    """The image batch of a preprocessed evaluation batch: self-supervised
    data preprocessors return a list of views (one here)."""
    return inputs[0] if isinstance(inputs, (list, tuple)) else inputs


@torch.no_grad()
def extract_features(backbone: torch.nn.Module,
                     data_preprocessor: torch.nn.Module,
                     dataset,
                     batch_size: int = 512,
                     num_workers: int = 0,
                     progress: bool = False) -> Tuple[torch.Tensor,
                                                      torch.Tensor]:
    """Global-average-pooled, L2-normalised last-stage features and labels.

    The backbone runs in eval mode (BN with its running statistics) and is
    put back in its previous mode afterwards.

    Args:
        backbone (nn.Module): e.g. ``model.backbone``.
        data_preprocessor (nn.Module): the model's (normalisation).
        dataset: a dataset whose samples carry ``gt_label`` and whose pipeline
            ends with ``PackInputs``.
        batch_size (int): Defaults to 512.
        num_workers (int): DataLoader workers. Defaults to 0.
        progress (bool): show a progress bar.

    Returns:
        tuple[Tensor, Tensor]: (N, D) features and (N,) labels, on CPU.
    """
    if len(dataset) == 0:
        raise ValueError('no images to extract features from: the data set '
                         'is empty (check its data_root, split and indices)')
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, collate_fn=default_collate)
    was_training = backbone.training
    backbone.eval()
    feats, labels = [], []
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(dataset))
    try:
        for batch in loader:
            data = data_preprocessor(batch, training=False)
            inputs = first_view(data['inputs'])
            feats.append(F.normalize(_pool(backbone(inputs)).float(),
                                     dim=1).cpu())
            labels.append(
                torch.stack([s.gt_label.reshape(()) for s in
                             data['data_samples']]).cpu())
            if bar is not None:
                bar.update(inputs.shape[0])  # one redraw per batch
    finally:
        backbone.train(was_training)
    feats = torch.cat(feats)
    bad = int((~torch.isfinite(feats).all(1)).sum())
    if bad:
        raise FloatingPointError(
            f'{bad} of {len(feats)} feature vectors hold NaN or inf: the '
            'backbone\'s weights overflow (a diverged run or a corrupt '
            'checkpoint); no kNN / probe / t-SNE result would mean anything')
    return feats, torch.cat(labels)


def pixel_features(dataset, batch_size: int = 1000
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Flattened raw images in [0, 1] and labels: the raw-pixel baseline.

    The images as the evaluation pipeline packs them (uint8, no
    normalisation); a grey image repeated to three channels keeps one (the
    copies change neither cosine similarities nor what a linear layer can
    fit, and would triple the probe's cost).

    Returns:
        tuple[Tensor, Tensor]: (N, C*H*W) features and (N,) labels.
    """
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        collate_fn=default_collate)
    feats, labels, grey = [], [], None
    for batch in loader:
        images = batch['inputs']
        if isinstance(images, (list, tuple)):
            images = torch.stack(list(images))
        images = images.float() / 255
        if grey is None:
            grey = images.shape[1] == 3 and bool(
                (images[:, :1] == images[:, 1:]).all())
        if grey:
            images = images[:, :1]
        feats.append(images.flatten(1))
        labels.append(torch.stack([s.gt_label.reshape(())
                                   for s in batch['data_samples']]))
    return torch.cat(feats), torch.cat(labels)
