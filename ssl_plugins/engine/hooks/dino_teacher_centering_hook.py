"""DINO's teacher centring, after every training iteration."""
from typing import Optional

import torch
from mmengine.hooks import Hook

from ssl_plugins.engine.hooks.arg_checks import check_number
from ssl_plugins.functional.ema import cosine_momentum
from ssl_plugins.registry import HOOKS
from .model_access import unwrapped_model


@HOOKS.register_module()
class DINOTeacherCenteringHook(Hook):
    """``c <- m c + (1 - m) * mean(teacher logits)`` after every iteration.

    DINO (Caron et al. 2021, §3.1 and Algorithm 1) centres the teacher's
    outputs with an EMA ``c`` of their batch mean; the loss of an iteration
    uses the centre of the previous ones. The model's loss records the
    batch's summed teacher logits and sample count; this hook applies them
    (``model.update_center(m)``), with the sums and the counts all-reduced
    over ranks, so the mean is the global batch's even when ranks hold
    different numbers of samples. The centre is a buffer of the model:
    checkpoints carry it and ``--resume`` restores it.

    Logs, per iteration, what DINO uses to tell its two collapse modes apart
    (§5.3, Fig. 7): ``teacher_entropy`` (ln K: uniform teacher, collapse by
    centring; 0: one dimension dominates, collapse by sharpening),
    ``kl_teacher_student`` (0 in both collapses) and ``center_norm``.

    Args:
        momentum (float): m. Defaults to 0.9 (paper).
        end_momentum (float, optional): if given, m follows a cosine from
            ``momentum`` (iteration 0) to ``end_momentum`` (last iteration).
    """
    priority = 'HIGH'  # before the logger and the checkpoint of the iteration

    def __init__(self, momentum: float = 0.9,
                 end_momentum: Optional[float] = None):
        for name, m in (('momentum', momentum),
                        ('end_momentum', end_momentum)):
            check_number('DINOTeacherCenteringHook', name, m, 0, 1,
                         optional=name == 'end_momentum')
        self.momentum = momentum
        self.end_momentum = end_momentum

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        model = unwrapped_model(runner, type(self).__name__, 'update_center')
        m = self.momentum
        if self.end_momentum is not None:
            m = cosine_momentum(self.momentum, runner.iter, runner.max_iters,
                                self.end_momentum)
        stats = model.update_center(m)
        hub = runner.message_hub
        hub.update_scalar('train/center_momentum', m)
        # one device-to-host copy for the three statistics
        values = (torch.stack([torch.as_tensor(v).float()
                               for v in stats.values()]).tolist()
                  if stats else [])
        for key, value in zip(stats, values):
            hub.update_scalar(f'train/{key}', value)
