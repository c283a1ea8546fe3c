"""Starts SwAV's embedding queue."""
from typing import Optional

from mmengine.hooks import Hook

from ssl_plugins.engine.hooks.arg_checks import check_int
from ssl_plugins.functional.distributed import get_world_size
from ssl_plugins.models.utils.swav_queue import move_legacy_queue
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

    The queue (:class:`SwAVQueue`) keeps its state in the model's state dict,
    so checkpoints carry it and a resume restores it (re-split over another
    number of processes) without this hook's help; the hook only moves the
    queue of a checkpoint written before that (``checkpoint['swav_queue']``)
    into the state dict before the model loads it.

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
        check_int('SwAVQueueHook', 'length', length, 1)
        check_int('SwAVQueueHook', 'start_epoch', start_epoch, 0)
        check_int('SwAVQueueHook', 'start_iter', start_iter, 0,
                  optional=True)
        self.length = length
        self.start_epoch = start_epoch
        self.start_iter = start_iter

    def before_train(self, runner) -> None:
        model = _model(runner)
        if not hasattr(model, 'start_queue'):
            raise TypeError(f'SwAVQueueHook needs a model with a queue '
                            f'(SwAV); {type(model).__name__} has no '
                            'start_queue')

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

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # (mmengine calls it before loading the state dict into the model)
        move_legacy_queue(checkpoint, _model(runner))
