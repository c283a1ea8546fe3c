"""Log how spread out the embeddings are; warn when they collapse."""
import math
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook

from ssl_plugins.engine.hooks.arg_checks import check_int, check_number
from ssl_plugins.functional.collapse import (effective_rank,
                                             normalized_embedding_std)
from ssl_plugins.functional.distributed import get_world_size
from ssl_plugins.models.utils.pooling import global_avg_pool
from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


def _embedding(output) -> Optional[torch.Tensor]:
    """(N, d) embedding of a module output: the last tensor of a tuple
    (mmpretrain necks return ``(z,)``, backbones one map per stage), feature
    maps globally average-pooled."""
    while isinstance(output, (tuple, list)) and len(output) > 0:
        output = output[-1]
    if not isinstance(output, torch.Tensor) or output.dim() < 2:
        return None
    return global_avg_pool(output).detach().flatten(1)


@HOOKS.register_module()
class CollapseMonitorHook(Hook):
    """Std of the L2-normalised embeddings, logged as ``collapse/std``.

    SimSiam (Chen & He 2021, Fig. 2) tracks the per-channel std of the
    L2-normalised projector output: about ``1/sqrt(d)`` when the embeddings
    spread over the sphere, 0 when every image maps to the same point. None
    of mmpretrain, lightly or solo-learn ships this as a hook.

    Every ``interval`` training iterations the hook catches the output of the
    module ``model.<module>`` (default ``neck``, the projector of every
    algorithm) the first time it runs in that iteration, through a forward
    hook, so algorithms need nothing special. It logs ``collapse/std``,
    ``collapse/std_ratio`` (``std * sqrt(d)``: 1 healthy, 0 collapsed) and, if
    ``effective_rank=True``, ``collapse/effective_rank`` (Roy & Vetterli).
    Under DDP the values are averaged over ranks. When ``std_ratio`` stays
    below ``threshold`` for ``patience`` consecutive measurements, it warns
    once (naming the iteration), or with ``stop=True`` stops the run.

    On in every shipped config (``default_hooks.collapse_monitor``). The
    defaults warn ``interval * patience`` = 5 iterations after the ratio
    falls below 0.2 (healthy runs here sit at 0.8-1.0; a collapsed one
    below 0.1): one (N, d) std per iteration, negligible beside a step.

    Args:
        interval (int): Measure every this many iterations. Default 1.
        module (str): Dotted attribute path of the monitored submodule of the
            algorithm, e.g. ``'neck'``, ``'backbone'``, ``'head.projector'``.
        threshold (float): Warn below this ``std * sqrt(d)``. Default 0.2.
        patience (int): Consecutive low measurements before warning.
            Default 5.
        effective_rank (bool): Also log the effective rank. Default False.
        stop (bool): Raise ``RuntimeError`` instead of warning. Default
            False.
    """
    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1,
                 module: str = 'neck',
                 threshold: float = 0.2,
                 patience: int = 5,
                 effective_rank: bool = False,
                 stop: bool = False):
        owner = 'CollapseMonitorHook'
        check_int(owner, 'interval', interval, 1)
        check_int(owner, 'patience', patience, 1)
        check_number(owner, 'threshold', threshold, 0)
        self.interval = interval
        self.module = module
        self.threshold = threshold
        self.patience = patience
        self.with_rank = effective_rank
        self.stop = stop
        self._captured: Optional[torch.Tensor] = None
        self._armed = False
        self._handle = None
        self._low = 0
        self.warned = False
        self.latest = {}

    def _target(self, runner) -> torch.nn.Module:
        model = unwrapped_model(runner, 'CollapseMonitorHook')
        target = model
        for name in self.module.split('.'):
            target = getattr(target, name, None)
            if target is None:
                raise AttributeError(
                    f'CollapseMonitorHook: {type(model).__name__} has no '
                    f'submodule {self.module!r} to monitor; set module= to '
                    'the projector (e.g. "neck") or "backbone"')
        if not isinstance(target, torch.nn.Module):
            raise TypeError(f'CollapseMonitorHook: model.{self.module} is a '
                            f'{type(target).__name__}, not an nn.Module')
        return target

    def _grab(self, module, args, output) -> None:
        if not self._armed:
            return
        z = _embedding(output)
        if z is not None:
            self._captured = z
            self._armed = False

    def before_train(self, runner) -> None:
        self._handle = self._target(runner).register_forward_hook(self._grab)

    def after_train(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._captured = None
        self._armed = self._measure(runner)

    def _measure(self, runner) -> bool:
        return self.every_n_train_iters(runner, self.interval) or \
            runner.iter == 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        self._armed = False
        z, self._captured = self._captured, None
        if z is not None and z.shape[0] >= 2 and self._measure(runner):
            self._update(runner, z)
        # Re-log the latest values every iteration: the log processor
        # averages each key over its last `window_size` entries, which would
        # otherwise span window_size * interval iterations.
        for key, value in self.latest.items():
            runner.message_hub.update_scalar(f'train/collapse/{key}', value)

    def _update(self, runner, z: torch.Tensor) -> None:
        dim = z.shape[1]
        values = [normalized_embedding_std(z)]
        if self.with_rank:
            values.append(effective_rank(z))
        stats = torch.stack(values)
        if get_world_size() > 1:
            all_reduce(stats, op='mean')
        std = float(stats[0])
        ratio = std * math.sqrt(dim)
        self.latest = dict(std=std, std_ratio=ratio)
        if self.with_rank:
            self.latest['effective_rank'] = float(stats[1])
        self._low = self._low + 1 if ratio < self.threshold else 0
        if self._low >= self.patience and not self.warned:
            self.warned = True
            message = (
                f'CollapseMonitorHook: at iteration {runner.iter + 1} the '
                f'std of the L2-normalised '
                f'model.{self.module} output has stayed below '
                f'{self.threshold} / sqrt(d) for {self._low} measurements '
                f'(now {std:.2e}, healthy ~ {1 / math.sqrt(dim):.2e} for '
                f'd={dim}): the representation is collapsing. Check the '
                'augmentations, the predictor/target setup and the learning '
                'rate.')
            if self.stop:
                raise RuntimeError(message + ' (stop=True: stopping)')
            runner.logger.warning(message)
