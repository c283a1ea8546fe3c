"""DINO's objective (Caron et al., ICCV 2021, §3.1, Algorithm 1; official
``DINOLoss``): self-distillation from a centred, sharpened teacher.

The student sees all V crops, the teacher the T = 2 global ones. For every
pair (teacher view ``i``, student view ``v != i``)::

    P_t = softmax((g_t(x_i) - c) / tau_t)        # no gradient
    H   = - sum_k P_t[k] log softmax(g_s(x_v) / tau_s)[k]

averaged over samples and the ``T V - T`` pairs; after the iteration
``c <- m c + (1 - m) mean(g_t(x))`` over the *global* batch (m = 0.9).

Config: ``head=dict(type='DINOHead', loss=dict(type='DINOLoss',
out_channels=65536, student_temp=0.1, teacher_temp=0.04,
center_momentum=0.9))``. The functions are also in
``ssl_plugins.functional.dino``.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from ssl_plugins.functional.collapse import teacher_entropy
from ssl_plugins.functional.distributed import all_reduce_sum_no_grad
from ssl_plugins.registry import MODELS


def dino_loss(student_out: torch.Tensor, teacher_out: torch.Tensor,
              center: torch.Tensor, *, teacher_temp: float,
              student_temp: float = 0.1,
              num_teacher_views: int = 2) -> torch.Tensor:
    """``H`` above, averaged; fp32 scalar. Views are stacked view by view
    (``(V * B, K)`` student, ``(T * B, K)`` teacher logits, detached here);
    the first T student views are the teacher's, so ``(i, i)`` is skipped.
    ``center``: ``(K,)`` or ``(1, K)``."""
    if student_out.dim() != 2 or teacher_out.dim() != 2:
        raise ValueError('dino_loss expects 2-d (views*batch, dim) tensors, '
                         f'got student {tuple(student_out.shape)} and '
                         f'teacher {tuple(teacher_out.shape)}')
    num_t, dim = num_teacher_views, teacher_out.shape[1]
    if student_out.shape[1] != dim or center.numel() != dim:
        raise ValueError(f'dino_loss: output dims differ: student '
                         f'{student_out.shape[1]}, teacher {dim}, centre '
                         f'{center.numel()}')
    if num_t < 1 or teacher_out.shape[0] % num_t:
        raise ValueError(f'dino_loss: teacher rows {teacher_out.shape[0]} are '
                         f'not num_teacher_views={num_t} views')
    batch = teacher_out.shape[0] // num_t
    if batch == 0 or student_out.shape[0] % batch:
        raise ValueError(f'dino_loss: student rows {student_out.shape[0]} are '
                         f'not a multiple of the batch size {batch}')
    num_s = student_out.shape[0] // batch
    num_pairs = num_t * num_s - min(num_t, num_s)
    if num_pairs == 0:
        raise ValueError('dino_loss: no pair of different views')
    q = F.softmax((teacher_out.detach().float()
                   - center.reshape(1, dim).float()) / teacher_temp,
                  dim=-1).reshape(num_t, batch, dim)
    log_p = F.log_softmax(student_out.float() / student_temp,
                          dim=-1).reshape(num_s, batch, dim)
    # ce[i, v] = mean_b H(q_i, p_v): one (T, B*K) x (B*K, V) product
    ce = -(q.reshape(num_t, -1) @ log_p.reshape(num_s, -1).t()) / batch
    same_view = torch.eye(num_t, num_s, dtype=torch.bool, device=ce.device)
    return ce.masked_fill(same_view, 0).sum() / num_pairs


@torch.no_grad()
def center_from_sums(center: torch.Tensor, teacher_sum: torch.Tensor,
                     count, momentum: float = 0.9) -> torch.Tensor:
    """``c <- m c + (1 - m) sum_ranks(teacher_sum) / sum_ranks(count)``: a
    rank's summed ``(K,)`` teacher logits and sample count, summed over ranks
    in one all-reduce (the global-batch mean however samples are split)."""
    stats = torch.cat([teacher_sum.detach().float().reshape(-1),
                       torch.as_tensor(count, dtype=torch.float32,
                                       device=teacher_sum.device
                                       ).reshape(1)])
    stats = all_reduce_sum_no_grad(stats)
    batch_mean = stats[:-1] / stats[-1]
    new = center.float().reshape(-1) * momentum + batch_mean * (1 - momentum)
    return new.reshape(center.shape).to(center.dtype)


@MODELS.register_module()
class DINOLoss(BaseModule):
    """The loss's settings and state, which :class:`DINOHead` computes with:
    the centre ``c`` (a buffer, so checkpoints carry it as
    ``head.loss_module.center``, mmpretrain's layout), tau_s, tau_t (until a
    ``TeacherTempWarmupHook`` sets it), m when ``update_center()`` gets none,
    and T."""

    def __init__(self, out_channels: int = 65536, student_temp: float = 0.1,
                 teacher_temp: float = 0.04, center_momentum: float = 0.9,
                 num_teacher_views: int = 2, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.num_teacher_views = num_teacher_views
        self.register_buffer('center', torch.zeros(1, out_channels))


@MODELS.register_module()
class DINOHead(BaseModule):
    """:func:`dino_loss` with the settings of ``loss_module``
    (:class:`DINOLoss`). A training-mode :meth:`loss` records the batch's
    teacher statistics, :meth:`update_center` applies them after the
    iteration (``DINOTeacherCenteringHook``; official order), and a
    training-mode loss before that raises (the centre would silently stay).
    """

    def __init__(self, loss: dict, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)
        self.pending: Optional[Dict[str, torch.Tensor]] = None

    def set_teacher_temp(self, temp: float) -> None:
        """Set tau_t (teacher temperature warm-up)."""
        self.loss_module.teacher_temp = float(temp)

    def loss(self, student_out: torch.Tensor,
             teacher_out: torch.Tensor) -> torch.Tensor:
        """Loss of stacked student (V*B, K) and teacher (T*B, K) outputs."""
        if self.training and self.pending is not None:
            raise RuntimeError(MISSING_HOOK)
        s = self.loss_module
        loss = dino_loss(student_out, teacher_out, s.center,
                         teacher_temp=s.teacher_temp,
                         student_temp=s.student_temp,
                         num_teacher_views=s.num_teacher_views)
        if self.training:
            with torch.no_grad():
                entropy = teacher_entropy(teacher_out, s.center,
                                          s.teacher_temp)
                self.pending = dict(
                    teacher_sum=teacher_out.detach().float().sum(0),
                    count=teacher_out.new_tensor(float(teacher_out.shape[0])),
                    teacher_entropy=entropy,
                    kl_teacher_student=loss.detach() - entropy)
        return loss

    @torch.no_grad()
    def update_center(self, momentum: Optional[float] = None
                      ) -> Dict[str, torch.Tensor]:
        """Apply the recorded batch to the centre (all ranks must call it);
        returns its ``teacher_entropy``, ``kl_teacher_student`` and the new
        ``center_norm`` (tensors, for logging)."""
        if self.pending is None:
            raise RuntimeError(
                'DINOHead.update_center: no teacher statistics recorded since '
                'the last update (call it once after each training-mode '
                'loss)')
        stats, self.pending = self.pending, None
        s = self.loss_module
        m = s.center_momentum if momentum is None else momentum
        s.center.copy_(center_from_sums(s.center, stats['teacher_sum'],
                                        stats['count'], m))
        return dict(teacher_entropy=stats['teacher_entropy'],
                    kl_teacher_student=stats['kl_teacher_student'],
                    center_norm=s.center.norm())


MISSING_HOOK = (
    "DINO's teacher centre was not updated after the previous training "
    "iteration: add dict(type='DINOTeacherCenteringHook') to custom_hooks "
    '(or call model.update_center() after each step of a plain loop).')
