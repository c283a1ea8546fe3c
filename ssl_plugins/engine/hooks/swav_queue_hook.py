"""Starts SwAV's embedding queue and keeps it in the checkpoint."""
from typing import Optional

import torch
from mmengine.hooks import Hook

from ssl_plugins.functional.distributed import get_world_size
from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


def _model(runner):
    return unwrapped_model(runner, 'SwAVQueueHook')


@HOOKS.register_module()
class SwAVQueueHook(Hook):
    """Start the queue of a :class:`SwAV` model at ``start_epoch``.

    Official recipe for batch 256 (``main_swav.py``, bs-256 scripts): a global
    queue of 3840 embeddings per assigned view, started at epoch 15; each of
    the W processes keeps ``length // W`` of them. The model fills the queue
    from the assigned views' embeddings every step and uses it (for the codes
    only) once it is full.

    The queues of all processes are saved with the checkpoint
    (``checkpoint['swav_queue']``, shape (W, views, length // W, D); every
    rank holds all shares, see ``SwAV.queue_state``) and restored on resume,
    so a resumed run continues exactly. A different number of processes on
    resume re-splits the global queue in rank order.

    Args:
        length (int): global queue length (all processes). Defaults to 3840.
        start_epoch (int): first epoch (0-based) with a queue. Defaults to 15.
        start_iter (int, optional): first iteration with a queue, for
            iteration-based schedules; replaces ``start_epoch`` when given.
    """

    priority = 'NORMAL'

    def __init__(self,
                 length: int = 3840,
                 start_epoch: int = 15,
                 start_iter: Optional[int] = None):
        if length < 1:
            raise ValueError(f'SwAVQueueHook: length must be >= 1, got '
                             f'{length}')
        self.length = length
        self.start_epoch = start_epoch
        self.start_iter = start_iter

    def before_train(self, runner) -> None:
        model = _model(runner)
        missing = [
            name for name in ('start_queue', 'queue_state', 'load_queue')
            if not hasattr(model, name)
        ]
        if missing:
            raise TypeError(f'SwAVQueueHook needs a model with a queue '
                            f'(SwAV); {type(model).__name__} has no '
                            f'{", ".join(missing)}')

    def _start(self, runner) -> None:
        world = get_world_size()
        if self.length < world:
            raise ValueError(f'SwAVQueueHook: length {self.length} is '
                             f'shorter than the number of processes {world}')
        _model(runner).start_queue(self.length // world)

    def before_train_epoch(self, runner) -> None:
        if self.start_iter is None and runner.epoch >= self.start_epoch:
            self._start(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self.start_iter is not None and runner.iter >= self.start_iter:
            self._start(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # only rank 0 runs this (Runner.save_checkpoint is master_only); the
        # model holds the shares of all ranks (SwAV.queue_state)
        state = _model(runner).queue_state()
        checkpoint['swav_queue'] = None if state is None else state.cpu()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'swav_queue' not in checkpoint:
            return
        saved = checkpoint['swav_queue']
        if saved is not None and saved.shape[0] != get_world_size():
            # global queue in rank order, re-split over the new processes
            world = get_world_size()
            full = torch.cat(list(saved), dim=1)
            per = full.shape[1] // world
            saved = full[:, :per * world].unflatten(1, (world, per))
            saved = saved.transpose(0, 1)
        _model(runner).load_queue(saved)
