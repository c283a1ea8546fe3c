import logging
import math

import pytest
import torch
from torch import nn


def make_runner(work_dir, collapsed, hook_cfg, iters=12, collapse_at=None):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    import ssl_plugins.engine.hooks  # noqa: F401 (registers the hook)

    class ToySSL(BaseModel):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(8, 8)
            self.neck = nn.Linear(8, 32)
            if collapsed:  # every input -> the same embedding
                nn.init.zeros_(self.neck.weight)
                nn.init.normal_(self.neck.bias)
            self.seen = []
            self.neck.register_forward_hook(
                lambda m, a, out: self.seen.append(out.detach().clone()))

        def forward(self, inputs, data_samples=None, mode='tensor'):
            if collapse_at is not None and len(self.seen) == 2 * collapse_at:
                with torch.no_grad():  # from here on: one point for all
                    self.neck.weight.zero_()
            z1 = self.neck(self.backbone(inputs))
            z2 = self.neck(self.backbone(inputs.flip(0)))
            return dict(loss=(z1 * z2).mean() * 0)

    data = [dict(inputs=torch.randn(8)) for _ in range(16 * iters)]
    runner = Runner(
        model=ToySSL(),
        work_dir=work_dir,
        train_dataloader=dict(dataset=data,
                              batch_size=16,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        custom_hooks=[dict(type='CollapseMonitorHook', **hook_cfg)],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook',
                                           interval=1000)),
        default_scope='ssl_plugins',
        log_level='WARNING')
    return runner


class Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def train(runner):
    records = Records()
    runner.logger.addHandler(records)
    runner.train()
    return [m for m in records.messages if 'CollapseMonitorHook' in m]


def test_healthy_embeddings_are_logged_and_do_not_warn(tmp_path):
    from ssl_plugins.functional.collapse import (effective_rank,
                                                 normalized_embedding_std)
    runner = make_runner(str(tmp_path),
                         collapsed=False,
                         hook_cfg=dict(interval=5, effective_rank=True))
    assert train(runner) == []
    model = runner.model
    # measured at iterations 1 (first), 5 and 10; two neck calls per
    # iteration, the first one of each measured iteration is used
    z = model.seen[2 * 9]
    hub = runner.message_hub
    assert hub.get_scalar('train/collapse/std').current() == pytest.approx(
        float(normalized_embedding_std(z)), rel=1e-5)
    assert hub.get_scalar('train/collapse/effective_rank').current() == \
        pytest.approx(float(effective_rank(z)), rel=1e-4)
    ratio = hub.get_scalar('train/collapse/std_ratio').current()
    assert ratio == pytest.approx(float(normalized_embedding_std(z)) *
                                  math.sqrt(32),
                                  rel=1e-5)
    assert ratio > 0.3
    # re-logged every iteration so the log window does not span 5x longer
    assert len(hub.get_scalar('train/collapse/std').data[0]) == 12


def test_collapse_warns_once_after_patience(tmp_path):
    runner = make_runner(str(tmp_path),
                         collapsed=True,
                         hook_cfg=dict(interval=1, patience=4),
                         iters=10)
    warnings = train(runner)
    assert len(warnings) == 1 and 'collapsing' in warnings[0]
    assert runner.message_hub.get_scalar('train/collapse/std').current() < 1e-6


def test_default_warns_within_20_iterations_of_a_collapse(tmp_path):
    """Healthy for 30 iterations, then collapsed: the default hook warns at
    most 20 iterations later (its defaults: 5), naming the iteration;
    ``stop=True`` stops the run there."""
    import re
    runner = make_runner(str(tmp_path / 'a'), collapsed=False, hook_cfg={},
                         iters=60, collapse_at=30)
    warnings = train(runner)
    assert len(warnings) == 1
    at = int(re.search(r'at iteration (\d+)', warnings[0]).group(1))
    assert 30 < at <= 50, at
    runner = make_runner(str(tmp_path / 'b'), collapsed=False,
                         hook_cfg=dict(stop=True), iters=60, collapse_at=30)
    with pytest.raises(RuntimeError, match=f'at iteration {at} .*stopping'):
        runner.train()
    assert runner.iter == at - 1  # stopped in that iteration


def test_patience_not_reached_no_warning(tmp_path):
    runner = make_runner(str(tmp_path),
                         collapsed=True,
                         hook_cfg=dict(interval=1, patience=20),
                         iters=10)
    assert train(runner) == []


def test_unknown_module_is_named(tmp_path):
    runner = make_runner(str(tmp_path),
                         collapsed=False,
                         hook_cfg=dict(module='head.projector'))
    with pytest.raises(AttributeError, match="'head.projector'"):
        runner.train()


def test_embedding_of_module_outputs():
    from ssl_plugins.engine.hooks.collapse_monitor_hook import _embedding
    maps = torch.randn(4, 3, 5, 5)
    # backbone: one map per stage -> last stage, globally pooled
    assert torch.equal(_embedding((torch.randn(4, 2, 9, 9), maps)),
                       maps.mean(dim=(2, 3)))
    z = torch.randn(4, 7)
    assert torch.equal(_embedding((z, )), z)  # mmpretrain neck: (z,)
    assert _embedding(torch.randn(4)) is None and _embedding([]) is None
