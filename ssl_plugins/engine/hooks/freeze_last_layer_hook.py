"""Keep a model's last layer fixed during the first epochs (DINO)."""
from mmengine.hooks import Hook

from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


@HOOKS.register_module()
class FreezeLastLayerHook(Hook):
    """Skip the optimizer update of ``model.last_layer_parameters()`` while
    ``runner.epoch < freeze_epochs``.

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
    """
    priority = 'NORMAL'

    def __init__(self, freeze_epochs: int = 1):
        if freeze_epochs < 0:
            raise ValueError('FreezeLastLayerHook: freeze_epochs must be >= 0,'
                             f' got {freeze_epochs}')
        self.freeze_epochs = freeze_epochs
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
        self._frozen = runner.epoch < self.freeze_epochs

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
