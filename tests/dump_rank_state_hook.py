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

    def before_train(self, runner):
        self.init = {k: v.detach().clone()
                     for k, v in self._model(runner).state_dict().items()}

    def after_train(self, runner):
        state = {k: v.detach().clone()
                 for k, v in self._model(runner).state_dict().items()}
        state.update({'init.' + k: v for k, v in self.init.items()})
        rank = dist.get_rank() if dist.is_initialized() else 0
        torch.save(state, osp.join(runner.work_dir, f'rank{rank}_state.pth'))
