"""DINO's teacher temperature warm-up, per epoch (or per iteration)."""
from typing import Optional

from mmengine.hooks import Hook

from ssl_plugins.engine.hooks.arg_checks import check_int, check_number
from ssl_plugins.functional.dino import teacher_temperature
from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


@HOOKS.register_module()
class TeacherTempWarmupHook(Hook):
    """tau_t linear from ``warmup_temp`` to ``temp`` over ``warmup_epochs``.

    The official schedule (``np.linspace(0.04, 0.07, 30)`` then 0.07, see
    :func:`ssl_plugins.functional.dino.teacher_temperature`), set before every
    training iteration from ``runner.epoch``, so a resumed run continues it
    exactly. The model must expose ``set_teacher_temp`` (``DINO``); works
    with and without DDP. Logged as ``teacher_temp``.

    With ``warmup_iters`` (iteration-based schedules: under mmengine's
    ``IterBasedTrainLoop`` ``runner.epoch`` stays 0) the same linear ramp runs
    per iteration instead, from ``runner.iter``: ``warmup_temp`` at iteration
    0, ``temp`` from iteration ``warmup_iters - 1`` on.

    Args:
        warmup_temp (float): tau_t at epoch 0. Defaults to 0.04.
        temp (float): tau_t after the warm-up. Defaults to 0.07.
        warmup_epochs (int): epochs of the warm-up. Defaults to 30.
        warmup_iters (int, optional): iterations of the warm-up; replaces
            ``warmup_epochs`` when given.
    """
    priority = 'NORMAL'

    def __init__(self,
                 warmup_temp: float = 0.04,
                 temp: float = 0.07,
                 warmup_epochs: int = 30,
                 warmup_iters: Optional[int] = None):
        owner = 'TeacherTempWarmupHook'
        check_number(owner, 'warmup_temp', warmup_temp, 0,
                     exclusive_minimum=True)
        check_number(owner, 'temp', temp, 0, exclusive_minimum=True)
        check_int(owner, 'warmup_epochs', warmup_epochs, 0)
        check_int(owner, 'warmup_iters', warmup_iters, 0, optional=True)
        self.warmup_temp = warmup_temp
        self.temp = temp
        self.warmup_epochs = warmup_epochs
        self.warmup_iters = warmup_iters

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        model = unwrapped_model(runner,
                                type(self).__name__, 'set_teacher_temp')
        if self.warmup_iters is not None:
            step, length = runner.iter, self.warmup_iters
        else:
            step, length = runner.epoch, self.warmup_epochs
        temp = teacher_temperature(step, length, self.warmup_temp, self.temp)
        model.set_teacher_temp(temp)
        runner.message_hub.update_scalar('train/teacher_temp', temp)
