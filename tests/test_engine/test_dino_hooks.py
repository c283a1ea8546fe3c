"""DINO recipe through a Runner: teacher temperature, weight decay schedule,
frozen last layer (Fashion-MNIST config on a tiny fake data set)."""
import math
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from helpers import REPO
from ssl_plugins.functional.ema import cosine_momentum

CONFIG = osp.join(
    REPO, 'configs/dino/'
    'dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-coslr-4e_fashion-mnist.py')


class Recorder(Hook):
    priority = 'VERY_LOW'  # after the DINO hooks, before the schedulers step

    def __init__(self):
        self.temps, self.wds, self.last_layer = [], [], {}

    def _model(self, runner):
        return runner.model

    def before_train(self, runner):
        model = self._model(runner)
        self.last_layer['init'] = [
            p.detach().clone() for p in model.last_layer_parameters()
        ]
        self.backbone0 = [
            p.detach().clone() for p in model.backbone.parameters()
        ]
        self.names = {
            id(p): (n, p.ndim)
            for n, p in model.named_parameters() if not n.startswith('target.')
        }

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = self._model(runner)
        self.temps.append(model.head.loss_module.teacher_temp)
        wd = {}
        for group in runner.optim_wrapper.optimizer.param_groups:
            for p in group['params']:
                if id(p) in self.names:
                    wd[self.names[id(p)]] = group['weight_decay']
        self.wds.append(wd)

    def after_train_epoch(self, runner):
        model = self._model(runner)
        self.last_layer[runner.epoch] = [
            p.detach().clone() for p in model.last_layer_parameters()
        ]
        if runner.epoch == 0:  # (the loop increments it afterwards)
            self.backbone1 = [
                p.detach().clone() for p in model.backbone.parameters()
            ]


def test_dino_hooks_in_a_runner(fake_fmnist, tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.dataset.data_root = fake_fmnist
    cfg.train_dataloader.batch_size = 8  # 64 images: 8 iterations / epoch
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    schedule_epochs = cfg.train_cfg.max_epochs  # schedules keep this length
    assert schedule_epochs >= 3
    cfg.train_cfg.max_epochs = 3
    runner = Runner.from_cfg(cfg)
    rec = Recorder()
    runner.register_hook(rec)
    runner.train()

    # teacher temperature: np.linspace(0.04, 0.07, 30)[epoch], per epoch
    assert len(rec.temps) == 3 * 8
    for epoch in range(3):
        expected = 0.04 + 0.03 * epoch / 29
        assert [math.isclose(t, expected)
                for t in rec.temps[8 * epoch:8 * (epoch + 1)]
                ] == [True] * 8, epoch

    # weight decay: cosine 0.04 -> 0.4 per iteration on weights, 0 on biases
    # and 1-d parameters (norms), as the official get_params_groups
    total = 8 * schedule_epochs
    for k in (0, 6, 12, 18, 23):
        expected = cosine_momentum(0.04, k, total, end=0.4)
        for (name, ndim), wd in rec.wds[k].items():
            if ndim <= 1:
                assert wd == 0.0, name
            else:
                assert math.isclose(wd, expected, rel_tol=1e-6), (name, k)
    assert math.isclose(rec.wds[total // 2][('backbone.conv1.weight', 4)],
                        0.22,
                        rel_tol=1e-6)

    # last layer: unchanged through epoch 0, trained afterwards
    for p0, p1 in zip(rec.last_layer['init'], rec.last_layer[0]):
        assert torch.equal(p0, p1)
    g0, v0 = rec.last_layer['init']
    g1, v1 = rec.last_layer[1]
    assert torch.equal(g0, g1)  # weight norm fixed (norm_last_layer)
    assert not torch.equal(v0, v1)
    # ... while the rest of the student did learn in epoch 0
    assert any(not torch.equal(a, b)
               for a, b in zip(rec.backbone0, rec.backbone1))


def test_hooks_name_what_the_model_lacks():
    import types

    import pytest

    from ssl_plugins.engine.hooks import (FreezeLastLayerHook,
                                          TeacherTempWarmupHook)
    runner = types.SimpleNamespace(model=torch.nn.Linear(2, 2), epoch=0)
    with pytest.raises(AttributeError, match='set_teacher_temp.*Linear'):
        TeacherTempWarmupHook().before_train_iter(runner, 0)
    with pytest.raises(AttributeError, match='last_layer_parameters.*Linear'):
        FreezeLastLayerHook().before_train(runner)
    with pytest.raises(ValueError, match='freeze_epochs'):
        FreezeLastLayerHook(freeze_epochs=-1)
    with pytest.raises(ValueError, match='freeze_iters'):
        FreezeLastLayerHook(freeze_iters=-1)


class _TwoLayers(torch.nn.Module):
    """A body and a last layer, as DINO exposes them."""

    def __init__(self):
        super().__init__()
        self.body, self.last = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)

    def last_layer_parameters(self):
        return list(self.last.parameters())

    def forward(self, x):
        return self.last(self.body(x)).sum()


def test_freeze_last_layer_by_iterations():
    """freeze_iters: fixed while runner.iter < freeze_iters whatever the
    epoch (an IterBasedTrainLoop keeps runner.epoch at 0)."""
    import types

    from ssl_plugins.engine.hooks import FreezeLastLayerHook
    torch.manual_seed(0)
    model = _TwoLayers()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1,
                                  weight_decay=0.04)
    runner = types.SimpleNamespace(
        model=model, optim_wrapper=types.SimpleNamespace(optimizer=optimizer),
        epoch=0, iter=0)
    hook = FreezeLastLayerHook(freeze_epochs=5, freeze_iters=2)
    hook.before_train(runner)
    last_changed, body_changed = [], []
    for it in range(4):
        runner.iter = it
        hook.before_train_iter(runner, it)
        last0 = [p.detach().clone() for p in model.last_layer_parameters()]
        body0 = model.body.weight.detach().clone()
        model(torch.randn(4, 2)).backward()
        optimizer.step()
        optimizer.zero_grad()
        last_changed.append(any(
            not torch.equal(a, b)
            for a, b in zip(last0, model.last_layer_parameters())))
        body_changed.append(not torch.equal(body0, model.body.weight))
    hook.after_train(runner)
    assert last_changed == [False, False, True, True]
    assert body_changed == [True] * 4


def test_teacher_temp_warmup_by_iterations():
    """warmup_iters: the same linear ramp per runner.iter (epoch stays 0)."""
    import types

    from ssl_plugins.engine.hooks import TeacherTempWarmupHook
    temps = []
    model = types.SimpleNamespace(set_teacher_temp=temps.append)
    hub = types.SimpleNamespace(update_scalar=lambda key, value: None)
    runner = types.SimpleNamespace(model=model, message_hub=hub, epoch=0,
                                   iter=0)
    hook = TeacherTempWarmupHook(0.04, 0.07, warmup_epochs=30,
                                 warmup_iters=4)
    for it in range(6):
        runner.iter = it
        hook.before_train_iter(runner, it)
    expected = [0.04, 0.05, 0.06, 0.07, 0.07, 0.07]
    assert len(temps) == len(expected), temps
    assert all(math.isclose(t, e) for t, e in zip(temps, expected)), temps
