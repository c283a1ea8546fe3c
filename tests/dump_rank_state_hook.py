"""Test-only hook: each rank saves its model state after training."""
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class DumpRankStateHook(Hook):

    def _model(self, runner):
        m = runner.model
        return m.module if is_model_wrapper(m) else m

    # Parameters only: BN running statistics are per rank unless SyncBN
    # (DDP runs with broadcast_buffers=False, mmengine's default).
    def _params(self, runner):
        return {k: v.detach().clone()
                for k, v in self._model(runner).named_parameters()}

    def before_train(self, runner):
        self.init = self._params(runner)

    def after_train(self, runner):
        state = self._params(runner)
        state.update({'init.' + k: v for k, v in self.init.items()})
        rank = dist.get_rank() if dist.is_initialized() else 0
        torch.save(state, osp.join(runner.work_dir, f'rank{rank}_state.pth'))
