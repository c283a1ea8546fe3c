"""Two parameter groups, weights vs biases+norms, as the official Barlow
Twins code."""
from typing import List, Optional

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from ssl_plugins.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BiasNormExcludedOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Split trainable parameters by dimension, as
    facebookresearch/barlowtwins.

    - group 0: weights (``ndim > 1``) with the optimizer's lr and weight decay;
    - group 1: biases and normalisation parameters (``ndim <= 1``) with
      ``lr * bias_norm_lr_mult``, ``weight_decay = 0`` and
      ``lars_exclude=True`` (no LARS adaptation).

    Barlow Twins: lr 0.2 (weights) and 0.0048 (biases, BN) x batch/256, so
    ``bias_norm_lr_mult = 0.0048 / 0.2 = 0.024``. Name-based ``custom_keys``
    (mmpretrain's config) miss layers not called ``bn``; the dimension test
    is the official code's and catches every BN, LayerNorm and bias.

    ``paramwise_cfg`` accepts only ``bias_norm_lr_mult`` (float).
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'bias_norm_lr_mult'}
        if unknown:
            raise ValueError(
                'BiasNormExcludedOptimWrapperConstructor: unknown '
                'paramwise_cfg keys '
                f'{sorted(unknown)}; only "bias_norm_lr_mult" is supported')
        self.bias_norm_lr_mult = float(
            paramwise_cfg.get('bias_norm_lr_mult', 1.0))
        # A non-empty paramwise_cfg makes the parent call add_params.
        super().__init__(optim_wrapper_cfg,
                         dict(bias_norm_lr_mult=self.bias_norm_lr_mult))
        if self.base_lr is None:
            raise ValueError(
                'BiasNormExcludedOptimWrapperConstructor: '
                'optim_wrapper.optimizer needs an "lr"')

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   **kwargs) -> None:
        """Fill ``params`` with the two groups (called once on the whole
        model)."""
        weights, biases_norms = [], []
        for p in module.parameters():
            if p.requires_grad:
                (weights if p.ndim > 1 else biases_norms).append(p)
        params.append(dict(params=weights))
        params.append(
            dict(params=biases_norms,
                 lr=self.base_lr * self.bias_norm_lr_mult,
                 weight_decay=0.0,
                 lars_exclude=True))
