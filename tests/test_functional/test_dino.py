"""Tests of ssl_plugins.functional.dino against plain reference code."""
import math

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F

from helpers import run_distributed
from ssl_plugins.functional.dino import (dino_loss, teacher_temperature,
                                         update_center)


def reference_dino_loss(student,
                        teacher,
                        center,
                        t_temp,
                        s_temp=0.1,
                        n_global=2):
    """The official DINOLoss.forward written as a plain double loop."""
    s_chunks = (student / s_temp).chunk(student.shape[0] //
                                        (teacher.shape[0] // n_global))
    t_chunks = F.softmax((teacher - center) / t_temp, dim=-1).chunk(n_global)
    total, n = 0., 0
    for i, q in enumerate(t_chunks):
        for v, s in enumerate(s_chunks):
            if v == i:
                continue
            total = total + torch.sum(-q * F.log_softmax(s, -1), -1).mean()
            n += 1
    return total / n


def make_outputs(batch=6, n_views=5, dim=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    student = torch.randn(n_views * batch,
                          dim,
                          generator=g,
                          dtype=torch.float64)
    teacher = torch.randn(2 * batch, dim, generator=g, dtype=torch.float64)
    center = torch.randn(1, dim, generator=g, dtype=torch.float64) * 0.3
    return student, teacher, center


@pytest.mark.parametrize('n_views', [2, 3, 12])
@pytest.mark.parametrize('t_temp', [0.04, 0.07])
def test_loss_matches_reference(n_views, t_temp):
    student, teacher, center = make_outputs(n_views=n_views)
    ours = dino_loss(student, teacher, center, teacher_temp=t_temp)
    ref = reference_dino_loss(student, teacher, center, t_temp)
    torch.testing.assert_close(ours, ref.float(), rtol=1e-5, atol=1e-5)


def test_same_view_pairs_are_skipped():
    # Same-view pairs included, the loss would be the mean over all T*V
    # pairs; it must differ from that and equal the mean over v != i.
    student, teacher, center = make_outputs(n_views=3)
    q = F.softmax((teacher - center) / 0.04, -1).chunk(2)
    logp = F.log_softmax(student / 0.1, -1).chunk(3)
    ce = torch.tensor([[(-(qi * lp).sum(-1)).mean() for lp in logp]
                       for qi in q])
    ours = dino_loss(student, teacher, center, teacher_temp=0.04)
    all_pairs = ce.mean()
    skipped = (ce.sum() - ce[0, 0] - ce[1, 1]) / 4
    torch.testing.assert_close(ours, skipped.float())
    assert not torch.isclose(ours, all_pairs.float())


def test_gradient_flows_to_student_only():
    student, teacher, center = make_outputs()
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    dino_loss(student, teacher, center, teacher_temp=0.04).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_uniform_outputs_give_log_dim():
    # Collapse signature (dino #246): equal logits give exactly ln(K).
    dim = 64
    loss = dino_loss(torch.zeros(4 * 3, dim),
                     torch.zeros(2 * 3, dim),
                     torch.zeros(dim),
                     teacher_temp=0.04)
    assert loss.item() == pytest.approx(math.log(dim), rel=1e-6)


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match='dims differ'):
        dino_loss(torch.zeros(8, 5),
                  torch.zeros(4, 6),
                  torch.zeros(6),
                  teacher_temp=0.04)
    with pytest.raises(ValueError, match='multiple of the batch'):
        dino_loss(torch.zeros(7, 6),
                  torch.zeros(4, 6),
                  torch.zeros(6),
                  teacher_temp=0.04)
    with pytest.raises(ValueError, match='centre'):
        update_center(torch.zeros(1, 5), torch.zeros(4, 6))


def test_center_update_formula():
    _, teacher, center = make_outputs()
    new = update_center(center, teacher, momentum=0.9)
    expected = 0.9 * center + 0.1 * teacher.mean(0, keepdim=True)
    assert new.shape == center.shape and new.dtype == center.dtype
    torch.testing.assert_close(new, expected)
    # 1-d centre keeps its shape, momentum is the weight of the old value
    new1 = update_center(center[0], teacher, momentum=0.5)
    torch.testing.assert_close(new1, 0.5 * center[0] + 0.5 * teacher.mean(0))


def _half_batch_per_rank(rank, world_size):
    """Rank r holds samples [3r, 3r + 3) of every view of a 6-sample batch."""
    student, teacher, center = make_outputs(batch=6, n_views=4)
    half = 6 // world_size
    s_local = student.reshape(4, 6, -1)[:, rank * half:(rank + 1) * half]
    t_local = teacher.reshape(2, 6, -1)[:, rank * half:(rank + 1) * half]
    loss = dino_loss(s_local.reshape(4 * half, -1),
                     t_local.reshape(2 * half, -1),
                     center,
                     teacher_temp=0.05)
    new_center = update_center(center, t_local.reshape(2 * half, -1))
    dist.all_reduce(loss)  # DDP averages gradients: average the losses
    # numpy, not tensors: a tensor crosses the queue as a shared-memory
    # handle that vanishes if this process exits before the parent reads it
    return (loss / world_size).numpy(), new_center.numpy()


def test_two_processes_match_one():
    student, teacher, center = make_outputs(batch=6, n_views=4)
    loss = dino_loss(student, teacher, center, teacher_temp=0.05)
    new_center = update_center(center, teacher)
    for rank_loss, rank_center in run_distributed(_half_batch_per_rank, 2):
        torch.testing.assert_close(torch.from_numpy(rank_loss), loss)
        torch.testing.assert_close(torch.from_numpy(rank_center), new_center)


def test_teacher_temperature_schedule():
    # official: np.linspace(0.04, 0.07, 30) then 0.07
    assert teacher_temperature(0) == pytest.approx(0.04)
    assert teacher_temperature(1) == pytest.approx(0.04 + 0.03 / 29)
    assert teacher_temperature(14) == pytest.approx(0.04 + 0.03 * 14 / 29)
    assert teacher_temperature(29) == pytest.approx(0.07)
    assert teacher_temperature(30) == pytest.approx(0.07)
    assert teacher_temperature(99) == pytest.approx(0.07)
    assert teacher_temperature(5, warmup_epochs=0) == pytest.approx(0.07)
    with pytest.raises(ValueError):
        teacher_temperature(-1)
