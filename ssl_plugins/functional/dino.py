"""DINO: self-distillation loss, teacher centring, teacher temperature.

Caron et al., "Emerging Properties in Self-Supervised Vision Transformers",
ICCV 2021 (arXiv:2104.14294); official code facebookresearch/dino
(``DINOLoss`` in ``main_dino.py``).

The student sees all crops (2 global + local ones), the teacher only the 2
global crops. For every pair (teacher global view ``i``, student view ``v``)
with ``v != i``::

    P_t = softmax((g_t(x_i) - c) / tau_t)    # centred, sharpened, no grad
    H   = - sum_k P_t[k] * log_softmax(g_s(x_v) / tau_s)[k]

and the loss is ``H`` averaged over samples and over the valid pairs. The
centre follows ``c <- m c + (1 - m) mean_batch(g_t(x))`` (m = 0.9), the mean
taken over the *global* batch (all ranks).
"""
from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F

from .distributed import get_world_size, is_dist_initialized


def dino_loss(student_out: torch.Tensor,
              teacher_out: torch.Tensor,
              center: torch.Tensor,
              *,
              teacher_temp: float,
              student_temp: float = 0.1,
              num_teacher_views: int = 2) -> torch.Tensor:
    """Cross-entropy between centred teacher and student distributions.

    Views are stacked along dim 0 view by view (all samples of view 0, then
    of view 1, ...), as in the official code; the first ``num_teacher_views``
    student views are the crops the teacher saw, so the pair ``(i, i)`` is
    skipped.

    Args:
        student_out (Tensor): ``(V * B, K)`` student logits for V views.
        teacher_out (Tensor): ``(T * B, K)`` teacher logits for the T global
            views (detached inside).
        center (Tensor): ``(K,)`` or ``(1, K)`` running centre of the teacher
            logits.
        teacher_temp (float): tau_t (0.04 -> 0.07 warm-up in the paper).
        student_temp (float): tau_s, 0.1 in the paper.
        num_teacher_views (int): T, 2 in the paper.

    Returns:
        Tensor: scalar loss (float32).

    Example:
        >>> s, t = torch.randn(10 * 4, 64), torch.randn(2 * 4, 64)
        >>> loss = dino_loss(s, t, torch.zeros(64), teacher_temp=0.04)
    """
    if student_out.dim() != 2 or teacher_out.dim() != 2:
        raise ValueError(
            'dino_loss expects 2-d (views*batch, dim) tensors, got '
            f'student {tuple(student_out.shape)} and teacher '
            f'{tuple(teacher_out.shape)}')
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
        raise ValueError('dino_loss: no (teacher, student) pair with '
                         'different views')

    q = F.softmax(
        (teacher_out.detach().float() - center.reshape(1, dim).float()) /
        teacher_temp,
        dim=-1).reshape(num_t, batch, dim)
    log_p = F.log_softmax(student_out.float() / student_temp,
                          dim=-1).reshape(num_s, batch, dim)
    # ce[i, v] = mean_b H(q_i, p_v): one (T, B*K) x (B*K, V) product
    ce = -(q.reshape(num_t, -1) @ log_p.reshape(num_s, -1).t()) / batch
    same_view = torch.eye(num_t, num_s, dtype=torch.bool, device=ce.device)
    return ce.masked_fill(same_view, 0).sum() / num_pairs


def _all_reduce_sum(x: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """Sum ``x`` over ranks (no-op without an initialised process group)."""
    if is_dist_initialized():
        x = x.clone()
        dist.all_reduce(x)
    return x, get_world_size()


@torch.no_grad()
def update_center(center: torch.Tensor,
                  teacher_out: torch.Tensor,
                  momentum: float = 0.9) -> torch.Tensor:
    """EMA of the teacher logits' batch mean, over the global batch.

    ``c <- m * c + (1 - m) * sum_ranks(sum_b t_b) / sum_ranks(n)``
    (official ``DINOLoss.update_center``; m = 0.9). The sums and the sample
    counts are both all-reduced, so ranks may hold different numbers of
    samples (:func:`center_from_sums`).

    Args:
        center (Tensor): ``(K,)`` or ``(1, K)`` current centre.
        teacher_out (Tensor): ``(N, K)`` raw (uncentred) teacher logits of
            this rank, all global views stacked.
        momentum (float): m, weight of the old centre.

    Returns:
        Tensor: the new centre, same shape and dtype as ``center``.
    """
    if teacher_out.dim() != 2 or teacher_out.shape[1] != center.numel():
        raise ValueError(
            f'update_center: teacher_out {tuple(teacher_out.shape)}'
            f' does not match centre of {center.numel()} values')
    return center_from_sums(center, teacher_out.detach().float().sum(0),
                            teacher_out.shape[0], momentum)


@torch.no_grad()
def center_from_sums(center: torch.Tensor, teacher_sum: torch.Tensor,
                     count, momentum: float = 0.9) -> torch.Tensor:
    """``c <- m c + (1 - m) * sum_ranks(teacher_sum) / sum_ranks(count)``.

    The centre update from a rank's summed teacher logits ``(K,)`` and its
    sample count (an int or a 0-d tensor); both are summed over ranks in one
    all-reduce, so the update is the global-batch mean however the samples
    are split.
    """
    stats = torch.cat([teacher_sum.detach().float().reshape(-1),
                       torch.as_tensor(count, dtype=torch.float32,
                                       device=teacher_sum.device
                                       ).reshape(1)])
    stats, _ = _all_reduce_sum(stats)
    batch_mean = stats[:-1] / stats[-1]
    new = center.float().reshape(-1) * momentum + batch_mean * (1 - momentum)
    return new.reshape(center.shape).to(center.dtype)


@torch.no_grad()
def teacher_entropy(teacher_out: torch.Tensor, center: torch.Tensor,
                    teacher_temp: float) -> torch.Tensor:
    """Mean entropy of the centred, sharpened teacher distributions
    ``softmax((t - c) / tau_t)``: near ln K when the teacher is uniform
    (collapse by centring), near 0 when one dimension dominates (collapse
    by sharpening); DINO §5.3 / Fig. 7 tell the two modes apart with it and
    with the teacher-student KL divergence (the loss minus this entropy)."""
    logits = (teacher_out.detach().float()
              - center.reshape(1, -1).float()) / teacher_temp
    log_q = F.log_softmax(logits, dim=-1)
    return -(log_q.exp() * log_q).sum(-1).mean()


def teacher_temperature(epoch: int,
                        warmup_epochs: int = 30,
                        warmup_temp: float = 0.04,
                        temp: float = 0.07) -> float:
    """Teacher temperature: linear warm-up per epoch, then constant.

    Exactly the official schedule ``np.linspace(warmup_temp, temp,
    warmup_epochs)`` followed by ``temp``: epoch ``warmup_epochs - 1`` already
    uses ``temp`` (defaults from ``main_dino.py``: 0.04 -> 0.07 over 30).
    """
    if epoch < 0:
        raise ValueError(
            f'teacher_temperature: epoch must be >= 0, got {epoch}')
    if epoch >= warmup_epochs:
        return temp
    if warmup_epochs == 1:
        return warmup_temp
    return warmup_temp + (temp - warmup_temp) * epoch / (warmup_epochs - 1)
