"""Linear probe on cached features: multinomial logistic regression.

The standard linear evaluation of a self-supervised backbone trains one linear
layer on its frozen features. On a small data set whose features fit in
memory this needs no augmented forward passes: extract the features once,
standardise them with the train split's mean and standard deviation, and fit

    min_{W, b}  mean_i CE(W x_i + b, y_i) + (lambda / 2) ||W||^2

to convergence with full-batch L-BFGS (seconds for 60,000 x 784 on one core).
``lambda`` is chosen on a validation part carved from the *train* features
(never the test split), then the probe is refitted on all train features.
The same function gives the raw-pixel baseline (flattened images as
features), so both numbers come from one protocol.
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F

DEFAULT_WEIGHT_DECAYS = (1e-5, 1e-4, 1e-3, 1e-2)


def standardize(train: torch.Tensor, *others: torch.Tensor):
    """Subtract the train features' mean and divide by their standard
    deviation (per dimension; constant dimensions are left at 0)."""
    mean = train.mean(0, keepdim=True)
    std = train.std(0, keepdim=True).clamp_min(1e-6)
    return tuple((x - mean) / std for x in (train, *others))


def fit_logistic_regression(feats: torch.Tensor,
                            labels: torch.Tensor,
                            weight_decay: float,
                            num_classes: Optional[int] = None,
                            max_iter: int = 100,
                            tolerance: float = 1e-7):
    """Fit ``mean CE(x W^T + b, y) + weight_decay / 2 * ||W||^2`` (bias not
    decayed) with full-batch L-BFGS (strong Wolfe line search).

    Returns:
        tuple[Tensor, Tensor]: ``W`` (C, D) and ``b`` (C,).
    """
    feats = feats.float()
    labels = labels.long()
    num_classes = num_classes or int(labels.max()) + 1
    weight = torch.zeros(num_classes, feats.shape[1], requires_grad=True)
    bias = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter,
                            history_size=20, tolerance_grad=tolerance,
                            tolerance_change=1e-10,
                            line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(feats @ weight.T + bias, labels)
        loss = loss + 0.5 * weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return weight.detach(), bias.detach()


def _accuracy(weight, bias, feats, labels) -> float:
    pred = (feats.float() @ weight.T + bias).argmax(1)
    return float((pred == labels.long()).float().mean() * 100)


def linear_probe(train_feats: torch.Tensor,
                 train_labels: torch.Tensor,
                 test_feats: torch.Tensor,
                 test_labels: torch.Tensor,
                 weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
                 val_fraction: float = 0.1,
                 seed: int = 0,
                 max_iter: int = 100) -> Dict[str, object]:
    """Top-1 accuracy (%) of a logistic regression on standardised features.

    ``weight_decay`` is picked from ``weight_decays`` by the accuracy on a
    random ``val_fraction`` of the train features (standardised with the
    statistics of the rest), then the probe is refitted on all train
    features and evaluated once on the test features.

    Args:
        train_feats (Tensor): (N, D) train features.
        train_labels (Tensor): (N,) integer labels.
        test_feats (Tensor): (M, D).
        test_labels (Tensor): (M,).
        weight_decays (Sequence[float]): L2 strengths to choose from.
        val_fraction (float): share of train held out for the choice.
        seed (int): seed of the held-out split.
        max_iter (int): L-BFGS iterations per fit.

    Returns:
        dict: ``top1`` (test), ``weight_decay`` (chosen) and ``val_top1``
        (validation accuracy of each candidate).
    """
    if not weight_decays:
        raise ValueError('linear_probe: weight_decays is empty')
    if not 0 < val_fraction < 1:
        raise ValueError(f'linear_probe: val_fraction must be in (0, 1), '
                         f'got {val_fraction}')
    if train_feats.shape[1] != test_feats.shape[1]:
        raise ValueError(f'linear_probe: train features have dim '
                         f'{train_feats.shape[1]}, test '
                         f'{test_feats.shape[1]}')
    train_feats = train_feats.reshape(len(train_feats), -1).float()
    test_feats = test_feats.reshape(len(test_feats), -1).float()
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    val_top1 = {}
    if len(weight_decays) > 1:
        perm = torch.randperm(len(train_feats),
                              generator=torch.Generator().manual_seed(seed))
        num_val = max(1, int(round(val_fraction * len(train_feats))))
        val_idx, fit_idx = perm[:num_val], perm[num_val:]
        fit_x, val_x = standardize(train_feats[fit_idx],
                                   train_feats[val_idx])
        for wd in weight_decays:
            w, b = fit_logistic_regression(fit_x, train_labels[fit_idx], wd,
                                           num_classes, max_iter)
            val_top1[wd] = _accuracy(w, b, val_x, train_labels[val_idx])
        best = max(weight_decays, key=lambda wd: val_top1[wd])
    else:
        best = weight_decays[0]
    train_x, test_x = standardize(train_feats, test_feats)
    w, b = fit_logistic_regression(train_x, train_labels, best, num_classes,
                                   max_iter)
    return dict(top1=_accuracy(w, b, test_x, test_labels),
                weight_decay=best, val_top1=val_top1)
