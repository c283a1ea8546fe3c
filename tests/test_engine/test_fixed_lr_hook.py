"""FixedLrHook: SimSiam's predictor keeps its base lr while the rest follows
the schedule."""
import math
from types import SimpleNamespace

import pytest
from mmengine.optim import build_optim_wrapper
from torch import nn

from ssl_plugins.engine.hooks import FixedLrHook
from ssl_plugins.registry import PARAM_SCHEDULERS


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(4, 4)
        self.head = nn.Module()
        self.head.predictor = nn.Linear(4, 4)


def _build(warmup_iters: int = 0, total: int = 8, base_lr: float = 0.05):
    model = _Net()
    optim_wrapper = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='SGD',
                            lr=base_lr,
                            momentum=0.9,
                            weight_decay=1e-4),
             paramwise_cfg=dict(
                 custom_keys={'head.predictor': dict(fix_lr=True)})))
    schedulers = []
    if warmup_iters:
        schedulers.append(
            PARAM_SCHEDULERS.build(
                dict(type='LinearLR',
                     optimizer=optim_wrapper,
                     start_factor=0.1,
                     by_epoch=False,
                     begin=0,
                     end=warmup_iters)))
    schedulers.append(
        PARAM_SCHEDULERS.build(
            dict(type='CosineAnnealingLR',
                 optimizer=optim_wrapper,
                 T_max=total - warmup_iters,
                 by_epoch=False,
                 begin=warmup_iters,
                 end=total,
                 eta_min=0.0)))
    groups = optim_wrapper.optimizer.param_groups
    pred = next(g for g in groups
                if any(p is model.head.predictor.weight for p in g['params']))
    back = next(g for g in groups
                if any(p is model.backbone.weight for p in g['params']))
    return SimpleNamespace(optim_wrapper=optim_wrapper), schedulers, pred, back


@pytest.mark.parametrize('warmup_iters', [0, 2])
def test_predictor_lr_fixed_while_backbone_lr_follows_schedule(warmup_iters):
    runner, schedulers, pred, back = _build(warmup_iters)
    hook = FixedLrHook()
    hook.before_train(runner)
    backbone_lrs = []
    for it in range(8):
        hook.before_train_iter(runner, it)
        assert pred['lr'] == pytest.approx(
            0.05)  # the lr the optimizer step uses
        backbone_lrs.append(back['lr'])
        runner.optim_wrapper.optimizer.step(
        )  # no gradients: only keeps the call order
        for s in schedulers:  # ParamSchedulerHook.after_train_iter
            s.step()
    decay = backbone_lrs[warmup_iters:]
    expected = [
        0.05 * (1 + math.cos(math.pi * t / (8 - warmup_iters))) / 2
        for t in range(len(decay))
    ]
    assert decay == pytest.approx(expected)
    assert backbone_lrs[-1] < 0.01


def test_without_the_hook_the_predictor_lr_decays():
    runner, schedulers, pred, back = _build()
    for s in schedulers * 4:
        s.step()
    assert pred['lr'] < 0.05 and pred['lr'] == pytest.approx(back['lr'])


def test_fixed_value_survives_a_changed_initial_lr():
    """Resuming restores ``fixed_lr`` with the optimizer state; it wins over
    initial_lr."""
    runner, _, pred, _ = _build()
    pred['fixed_lr'] = 0.02
    hook = FixedLrHook()
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert pred['lr'] == 0.02


def test_missing_flag_is_a_clear_error():
    model = nn.Linear(2, 2)
    ow = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(ValueError, match='fix_lr=True'):
        FixedLrHook().before_train(SimpleNamespace(optim_wrapper=ow))
