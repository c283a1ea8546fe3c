"""Test-only faults, loaded into a training run through ``custom_imports``.

- ``KILL_AT_SAVE=N``: the N-th checkpoint write stops the process with
  ``os._exit(137)`` (as ``kill -9``) after half of its bytes.
- ``FULL_AT_SAVE=N``: the N-th checkpoint write raises ``OSError(ENOSPC)``
  (a full disk) after half of its bytes.
- ``FULL_AT_CHECKSUM=N``: the N-th checksum write raises ``OSError(ENOSPC)``
  after the checkpoint was committed (a disk that fills up meanwhile).
- ``InjectFaultHook``: at iteration ``at_iter`` sets the lr to ``lr``,
  fills a BN running variance with ``float(value)`` (e.g. 'nan'), or stops
  rank ``stop_rank`` with SIGSTOP after its step.
"""
import errno
import os

import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook

import ssl_plugins.engine.hooks.atomic_checkpoint_hook as _checkpoint_hook
from ssl_plugins.registry import HOOKS

_put = LocalBackend.put
_saves = {'n': 0}


def _dying_put(self, obj, filepath):
    _saves['n'] += 1
    if _saves['n'] == int(os.environ.get('KILL_AT_SAVE', 0)):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
        os._exit(137)
    if _saves['n'] == int(os.environ.get('FULL_AT_SAVE', 0)):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _put(self, obj, filepath)


LocalBackend.put = _dying_put


def _full_checksum(path):
    _saves['sums'] = _saves.get('sums', 0) + 1
    if _saves['sums'] == int(os.environ.get('FULL_AT_CHECKSUM', 0)):
        with open(os.path.join(os.path.dirname(path),
                               f'.{os.path.basename(path)}.sha256.tmp'),
                  'w') as f:
            f.write('partial')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _write_checksum(path)


_write_checksum = _checkpoint_hook.write_checksum
_checkpoint_hook.write_checksum = _full_checksum


@HOOKS.register_module()
class InjectFaultHook(Hook):

    def __init__(self, at_iter, lr=None, value=None, stop_rank=None):
        self.at_iter, self.lr, self.value = at_iter, lr, value
        self.stop_rank = stop_rank

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        # SIGSTOP this rank after the step of iteration at_iter
        if (self.stop_rank is not None and runner.iter + 1 == self.at_iter
                and int(os.environ.get('RANK', 0)) == self.stop_rank):
            import signal
            os.kill(os.getpid(), signal.SIGSTOP)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 != self.at_iter:
            return
        if self.lr is not None:
            for group in runner.optim_wrapper.optimizer.param_groups:
                group['lr'] = self.lr
        if self.value is not None:
            model = getattr(runner.model, 'module', runner.model)
            bn = next(m for m in model.modules()
                      if isinstance(m, torch.nn.BatchNorm2d))
            bn.running_var.fill_(float(self.value))
