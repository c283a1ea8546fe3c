"""The DINO pair of benchmarks/speed.py: ours and lightly 1.6's head, loss and
teacher update (benchmarks/lightly_dino.py), built as the benchmark builds
them (same weights, AdamW, clipping at 3.0, teacher momentum 0.996 -> 1),
give the same first-step loss, and stay together over the next steps
(centre, teacher EMA schedule, optimizer). lightly is an optional benchmark
dependency (requirements/benchmark.txt, ``make setup-benchmark``): skipped
without it, except in CI, which installs it (.ci/run)."""
import argparse

import pytest
import torch

from helpers import import_benchmark_extra

import_benchmark_extra('lightly')

from benchmarks import speed  # noqa: E402
from benchmarks.pairs import DINO_CLIP, matched_parameters  # noqa: E402
from ssl_plugins.functional.ema import cosine_momentum  # noqa: E402


def test_dino_pair_first_losses_agree():
    args = argparse.Namespace(arch='resnet18-w32-s2', preset='fmnist',
                              seed=0, device='cpu', channels_last=False,
                              bf16=False)
    models, to_our_scale = speed.build_pair('dino', args)
    assert set(models) == {'ours', 'lightly'}
    (ours, w_ours), (theirs, w_theirs) = models['ours'], models['lightly']
    assert w_ours.clip_grad_kwargs == dict(max_norm=DINO_CLIP)
    assert isinstance(w_theirs.optimizer, torch.optim.AdamW)
    # the teacher starts equal to the student on both sides
    for part, teacher in (('backbone', theirs.teacher_backbone),
                          ('neck', theirs.teacher_head)):
        for p, q in zip(*matched_parameters(ours, theirs, part, teacher)):
            torch.testing.assert_close(p, q, atol=0, rtol=0)
    total = 3
    theirs.max_steps = total + 1  # as bench_train: same momentum schedule
    batch = speed.make_batch('dino', 4, 16, 'cpu', seed=1)
    assert len(batch['inputs']) == 8  # 2 global + 6 local crops
    for it in range(total):
        ours.set_momentum(cosine_momentum(ours.base_momentum, it, total))
        loss_ours = float(ours.train_step(batch, w_ours)['loss'].detach())
        ours.update_center()  # what DINOTeacherCenteringHook does
        loss_theirs = float(theirs.train_step(batch, w_theirs)['loss'])
        # first step: same weights and batch -> same value; later steps stay
        # within AdamW's amplification of float rounding
        tol = 1e-5 if it == 0 else 1e-4
        assert loss_ours == pytest.approx(to_our_scale(loss_theirs), abs=tol)
        torch.testing.assert_close(
            ours.head.loss_module.center.flatten(),
            theirs.criterion.center.flatten(), atol=1e-6, rtol=1e-4)
    # collapsed-free start on K = 4096 outputs: below ln K
    assert 0 < loss_ours < torch.log(torch.tensor(4096.)).item()
    # the teachers followed the same EMA schedule
    for part, teacher in (('backbone', theirs.teacher_backbone),
                          ('neck', theirs.teacher_head)):
        ours_t = getattr(ours.target, part)
        for p, q in zip(ours_t.parameters(), teacher.parameters()):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)


def test_compiled_lightly_twin_follows_the_eager_one():
    """``--compile`` adds a compiled twin of each side. lightly's is built
    again (its weight-normed layer refuses ``copy.deepcopy``), gets the
    run's step count (``set_step_counts``), compiles once (its int step
    counter stays out of the graph), and then trains exactly as the eager
    reference: same losses, same teacher."""
    from torch._dynamo.utils import counters
    args = argparse.Namespace(arch='resnet18-w32-s2', preset='fmnist',
                              seed=0, device='cpu', channels_last=False,
                              bf16=False, compile=True,
                              compile_backend='eager')
    models, _ = speed.build_pair('dino', args)
    assert set(models) == {'ours', 'lightly', 'ours+compile',
                           'lightly+compile'}
    total = 4
    speed.set_step_counts(models, total)
    (eager, w_eager), (twin, w_twin) = (models['lightly'],
                                        models['lightly+compile'])
    assert twin is not eager and twin.max_steps == eager.max_steps == 5
    named = [list(m.named_parameters()) for m in (eager, twin)]
    assert [n for n, _ in named[0]] == [n for n, _ in named[1]]
    for (name, p), (_, q) in zip(*named):
        torch.testing.assert_close(p, q, atol=0, rtol=0, msg=name)
    batch = speed.make_batch('dino', 4, 16, 'cpu', seed=1)
    torch._dynamo.reset()
    before, frames = counters['frames']['total'], []
    with torch._dynamo.config.patch(recompile_limit=64):
        for _ in range(total):
            loss_eager = eager.train_step(batch, w_eager)['loss']
            loss_twin = twin.train_step(batch, w_twin)['loss']
            torch.testing.assert_close(loss_twin, loss_eager, atol=1e-5,
                                       rtol=1e-5)
            frames.append(counters['frames']['total'] - before)
    torch._dynamo.reset()
    assert frames[0] > 0 and frames[1:] == [frames[0]] * (total - 1), frames
    assert twin.step == eager.step == total
    for p, q in zip(eager.teacher_backbone.parameters(),
                    twin.teacher_backbone.parameters()):
        torch.testing.assert_close(q, p, atol=1e-5, rtol=1e-4)
