"""LARS with the official Barlow Twins update rule (see
:mod:`ssl_plugins.engine.optimizers.lars`)."""
from typing import Iterable

import torch
from torch.optim import Optimizer

from ssl_plugins.registry import OPTIMIZERS
from .lars import lars_update_


@OPTIMIZERS.register_module()
class OfficialLARS(Optimizer):
    """LARS as in facebookresearch/barlowtwins: trust ratio
    ``eta ||w|| / ||g + wd w||``, momentum on the adapted update, learning
    rate applied outside the buffer.

    Differs from mmpretrain's ``LARS`` (denominator ``||g|| + wd ||w||``,
    lr inside the momentum buffer, two host syncs per parameter). Groups with
    ``lars_exclude=True`` skip the trust ratio; give them ``weight_decay=0``
    too (:class:`BiasNormExcludedOptimWrapperConstructor` builds such groups).

    Args:
        params: parameters or parameter groups.
        lr (float): learning rate.
        momentum (float): momentum factor. Defaults to 0.9 (official).
        weight_decay (float): weight decay. Defaults to 0.
        eta (float): trust coefficient. Defaults to 0.001 (official).
    """

    def __init__(self,
                 params: Iterable,
                 lr: float,
                 momentum: float = 0.9,
                 weight_decay: float = 0.0,
                 eta: float = 0.001) -> None:
        for key, value in dict(lr=lr,
                               momentum=momentum,
                               weight_decay=weight_decay,
                               eta=eta).items():
            if value < 0:
                raise ValueError(
                    f'OfficialLARS: {key} must be >= 0, got {value}')
        super().__init__(
            params,
            dict(lr=lr,
                 momentum=momentum,
                 weight_decay=weight_decay,
                 eta=eta,
                 lars_exclude=False))

    @torch.no_grad()
    def step(self, closure=None):
        """One optimisation step over every group."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group['params'] if p.grad is not None]
            for p in params:
                if 'momentum_buffer' not in self.state[p]:
                    self.state[p]['momentum_buffer'] = torch.zeros_like(p)
            lars_update_(params, [p.grad for p in params],
                         [self.state[p]['momentum_buffer'] for p in params],
                         lr=group['lr'],
                         momentum=group['momentum'],
                         weight_decay=group['weight_decay'],
                         eta=group['eta'],
                         adapt=not group['lars_exclude'])
        return loss
