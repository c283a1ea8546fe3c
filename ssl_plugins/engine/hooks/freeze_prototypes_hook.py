"""Freezes SwAV's prototypes for the first iterations, DDP-friendly."""
from mmengine.hooks import Hook

from ssl_plugins.engine.hooks.arg_checks import check_int
from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


@HOOKS.register_module()
class FreezePrototypesHook(Hook):
    """Drop the prototypes' gradient during the first ``iters`` iterations.

    As the official code (``freeze_prototypes_niters``: 313 by default, one
    epoch at batch 4096; its batch-256 scripts use 5005, one epoch there),
    the gradient is set to ``None`` after backward and before the optimizer
    step, so the optimizer skips the prototypes (no update, no weight decay,
    no momentum). ``requires_grad=False`` would instead force DDP's
    ``find_unused_parameters=True``.

    mmengine's ``OptimWrapper.update_params`` runs backward and step with no
    hook point in between, so the drop runs in an optimizer step pre-hook
    (registered while freezing, removed after), calling the model's public
    ``drop_prototype_grads()``. Works with DDP wrappers, AMP and gradient
    accumulation.

    Args:
        iters (int): number of frozen iterations from the start. Defaults to
            313 (official default).
    """

    priority = 'NORMAL'

    def __init__(self, iters: int = 313):
        check_int('FreezePrototypesHook', 'iters', iters, 0)
        self.iters = iters
        self._handle = None
        self._model = None

    def before_train(self, runner) -> None:
        model = unwrapped_model(runner, 'FreezePrototypesHook')
        if not hasattr(model, 'drop_prototype_grads'):
            raise TypeError(f'FreezePrototypesHook needs a model with '
                            f'drop_prototype_grads(), got '
                            f'{type(model).__name__}')
        self._model = model

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        frozen = runner.iter < self.iters
        if frozen and self._handle is None:
            optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
            if optimizer is None:
                raise TypeError('FreezePrototypesHook supports a single '
                                'OptimWrapper, got '
                                f'{type(runner.optim_wrapper).__name__}')
            self._handle = optimizer.register_step_pre_hook(
                lambda *args: self._model.drop_prototype_grads())
        elif not frozen and self._handle is not None:
            self._handle.remove()
            self._handle = None

    def after_train(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
