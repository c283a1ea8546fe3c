"""The paper configs of SimSiam and Barlow Twins build, with the paper's
sizes and schedules."""
import math
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn

from ssl_plugins.registry import MODELS, PARAM_SCHEDULERS

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs')
SIMSIAM = osp.join(ROOT, 'simsiam',
                   'simsiam_resnet50_8xb32-coslr-100e_in1k.py')
BARLOW = osp.join(ROOT, 'barlow_twins',
                  'barlowtwins_resnet50_8xb256-coslr-300e_in1k.py')


def _linears(module):
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def _lrs_over_schedule(cfg, optim_wrapper, epoch_length, total_epochs):
    schedulers = [
        PARAM_SCHEDULERS.build(s,
                               default_args=dict(optimizer=optim_wrapper,
                                                 epoch_length=epoch_length))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(total_epochs * epoch_length):
        lrs.append([g['lr'] for g in optim_wrapper.optimizer.param_groups[:2]])
        for s in schedulers:
            s.step()
    return lrs


def test_simsiam_paper_config():
    cfg = Config.fromfile(SIMSIAM)
    model = MODELS.build(cfg.model)
    proj, pred = _linears(model.neck), _linears(model.head.predictor)
    assert [(m.in_features, m.out_features)
            for m in proj] == [(2048, 2048)] * 3
    assert [(m.in_features, m.out_features) for m in pred] == [(2048, 512),
                                                               (512, 2048)]
    assert isinstance(model.neck.mlp[-1],
                      nn.SyncBatchNorm) and not model.neck.mlp[-1].affine
    optimizer = cfg.optim_wrapper.optimizer
    assert cfg.train_dataloader.batch_size * 8 == 256 and optimizer.lr == 0.05
    assert optimizer.weight_decay == 1e-4 and optimizer.momentum == 0.9
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.auto_scale_lr.base_batch_size == 256
    assert any(h.type == 'FixedLrHook' for h in cfg.custom_hooks)
    groups = build_optim_wrapper(model,
                                 cfg.optim_wrapper).optimizer.param_groups
    fixed = {id(p) for g in groups if g.get('fix_lr') for p in g['params']}
    assert fixed == {id(p) for p in model.head.predictor.parameters()}


def test_barlow_twins_paper_config_and_schedule():
    cfg = Config.fromfile(BARLOW)
    model = MODELS.build(cfg.model)
    proj = _linears(model.neck)
    assert [(m.in_features, m.out_features) for m in proj] == [(2048, 8192),
                                                               (8192, 8192),
                                                               (8192, 8192)]
    assert [m.bias is None for m in proj] == [True] * 3
    assert model.head.lambd == 0.0051
    assert cfg.train_dataloader.batch_size * 8 == 2048
    assert cfg.auto_scale_lr.base_batch_size == 2048
    ow = build_optim_wrapper(model, cfg.optim_wrapper)
    weights, biases_norms = ow.optimizer.param_groups
    assert weights['lr'] == pytest.approx(
        0.2 * 2048 / 256) and weights['weight_decay'] == 1.5e-6
    assert biases_norms['lr'] == pytest.approx(
        0.0048 * 2048 / 256) and biases_norms['weight_decay'] == 0
    assert biases_norms['lars_exclude'] and not weights['lars_exclude']
    # 10 warm-up epochs, then cosine to 0.001 x base, both groups (official
    # adjust_learning_rate).
    epoch_length = 4
    lrs = _lrs_over_schedule(cfg, ow, epoch_length, cfg.train_cfg.max_epochs)
    for group, base in enumerate((1.6, 0.0384)):
        curve = [lr[group] for lr in lrs]
        warm = 10 * epoch_length
        assert curve[0] == pytest.approx(1.6e-4 * base)
        assert [a < b for a, b in zip(curve[:warm - 1], curve[1:warm])
                ] == [True] * (warm - 1)
        assert curve[warm] == pytest.approx(base)
        mid = warm + (len(curve) - warm) // 2
        assert curve[mid] == pytest.approx(
            base * (0.001 + 0.999 * (1 + math.cos(math.pi / 2)) / 2), rel=1e-3)
        assert curve[-1] == pytest.approx(base * 0.001, rel=0.05)
