"""Cosine schedule of the momentum (EMA) target's tau, per iteration."""
from mmengine.hooks import Hook

from ssl_plugins.functional.ema import cosine_momentum
from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


def _check_momentum(name: str, value) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``0 <= value <= 1``: a
    tau above 1 extrapolates away from the online network (the target
    grows without bound), one below 0 flips its sign."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value <= 1:
        raise ValueError(f'TargetMomentumHook: {name}={value!r}; the EMA '
                         'momentum tau must be a number in [0, 1] (the '
                         'weight of the old target value, e.g. 0.99)')


@HOOKS.register_module()
class TargetMomentumHook(Hook):
    """Set ``tau_k = 1 - (1 - tau_base)(cos(pi k / K) + 1) / 2`` before every
    training iteration k of K (BYOL §3.2; DINO's teacher 0.996 -> 1).

    The model must expose ``base_momentum`` and ``set_momentum(tau)`` (BYOL,
    DINO). tau is the paper's momentum, the weight of the old target value.
    The value is logged as ``momentum``. It depends only on the iteration, so
    a resumed run continues the schedule exactly. Before training the hook
    ties the target's EMA steps to the optimizer's real steps
    (``model.follow_optimizer``; gradient accumulation, skipped AMP steps),
    also under DDP, whose wrapper never calls the model's ``train_step``.

    Args:
        end_momentum (float): tau at the last iteration. Defaults to 1.0.
    """
    priority = 'NORMAL'

    def __init__(self, end_momentum: float = 1.0):
        _check_momentum('end_momentum', end_momentum)
        self.end_momentum = end_momentum

    def before_train(self, runner) -> None:
        model = unwrapped_model(runner, 'TargetMomentumHook', 'set_momentum')
        if hasattr(model, 'base_momentum'):
            _check_momentum('the model\'s base_momentum', model.base_momentum)
        follow = getattr(model, 'follow_optimizer', None)
        optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
        if follow is not None and optimizer is not None:
            # a resumed run saved its checkpoint after a step whose EMA step
            # (at the start of the next loss) is still due
            follow(optimizer, stepped=runner.iter > 0)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        model = unwrapped_model(runner, 'TargetMomentumHook',
                                'base_momentum', 'set_momentum')
        tau = cosine_momentum(model.base_momentum, runner.iter,
                              runner.max_iters, self.end_momentum)
        model.set_momentum(tau)
        runner.message_hub.update_scalar('train/momentum', tau)
