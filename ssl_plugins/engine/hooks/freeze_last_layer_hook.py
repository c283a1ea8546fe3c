"""Keep a model's last layer fixed during the first epochs (DINO)."""
from typing import Optional

from mmengine.hooks import Hook

from ssl_plugins.engine.hooks.arg_checks import check_int
from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


@HOOKS.register_module()
class FreezeLastLayerHook(Hook):
    """Skip the optimizer update of ``model.last_layer_parameters()`` while
    ``runner.epoch < freeze_epochs`` (or ``runner.iter < freeze_iters``).

    DINO (official ``cancel_gradients_last_layer``, ``--freeze_last_layer
    1``) drops the last layer's gradients after backward and gradient
    clipping, right before ``optimizer.step()``: the layer then gets no
    update at all, weight decay and Adam moments included. We do the same
    with a ``torch.optim.Optimizer`` step pre-hook that sets those gradients
    to ``None``; the parameters stay trainable, so DDP needs no
    ``find_unused_parameters``, and it works with and without DDP, with AMP
    and with mmengine's ``clip_grad`` (clipping, as officially, sees the
    gradients before they are dropped).

    Args:
        freeze_epochs (int): epochs during which the layer is fixed.
            Defaults to 1 (official).
        freeze_iters (int, optional): iterations during which the layer is
            fixed, for iteration-based schedules (under mmengine's
            ``IterBasedTrainLoop`` ``runner.epoch`` stays 0); replaces
            ``freeze_epochs`` when given.
    """
    priority = 'NORMAL'

    def __init__(self, freeze_epochs: int = 1,
                 freeze_iters: Optional[int] = None):
        for name, value in (('freeze_epochs', freeze_epochs),
                            ('freeze_iters', freeze_iters)):
            check_int('FreezeLastLayerHook', name, value, 0,
                      optional=name == 'freeze_iters')
        self.freeze_epochs = freeze_epochs
        self.freeze_iters = freeze_iters
        self._params = []
        self._frozen = False
        self._handles = []

    def _drop_grads(self, optimizer, args, kwargs):
        if self._frozen:
            for p in self._params:
                p.grad = None

    def before_train(self, runner) -> None:
        model = unwrapped_model(runner,
                                type(self).__name__, 'last_layer_parameters')
        self._params = list(model.last_layer_parameters())
        wrappers = runner.optim_wrapper
        wrappers = (wrappers.values()
                    if hasattr(wrappers, 'values') else [wrappers])
        self._handles = [
            w.optimizer.register_step_pre_hook(self._drop_grads)
            for w in wrappers
        ]

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        if self.freeze_iters is not None:
            self._frozen = runner.iter < self.freeze_iters
        else:
            self._frozen = runner.epoch < self.freeze_epochs

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
