"""The momentum target moves once per optimizer step that really happened:
gradient accumulation and skipped (inf) AMP steps."""
import copy

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from ssl_plugins.registry import MODELS


class _ConvNet(nn.Module):  # no BatchNorm: half batches = the whole batch

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return (torch.relu(self.conv(x)), )


def tiny_byol(tau=0.5):
    torch.manual_seed(0)
    lin = dict(type='MLPNeck', in_channels=8, hid_channels=8,
               out_channels=8, num_layers=1)
    model = MODELS.build(dict(
        type='BYOL', backbone=_ConvNet(), neck=lin,
        head=dict(type='LatentPredictHead',
                  predictor=dict(lin, with_avg_pool=False),
                  loss=dict(type='BYOLLoss')),
        base_momentum=tau))
    model.init_weights()
    return model.train()


def batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 8, 8, generator=g) * 255
    return x, x.flip(-1)


def data(views, rows=slice(None)):
    return dict(inputs=[v[rows] for v in views], data_samples=None)


def wrapper(model, accumulate):
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    return OptimWrapper(opt, accumulative_counts=accumulate)


def target_state(model):
    return [p.detach().clone() for p in model.target.parameters()]


def test_accumulation_moves_the_target_once_per_optimizer_step():
    views = [batch(seed=s) for s in range(2)]
    # two optimizer steps on whole batches
    full = tiny_byol()
    ow = wrapper(full, 1)
    for v in views:
        full.train_step(data(v), ow)
    full.update_target()  # the EMA step of the last optimizer step
    # the same two steps, each accumulated over two half batches
    half = tiny_byol()
    ow = wrapper(half, 2)
    calls = []
    update = half.target.update
    half.target.update = lambda *a: (calls.append(1), update(*a))
    for v in views:
        half.train_step(data(v, slice(0, 4)), ow)
        half.train_step(data(v, slice(4, 8)), ow)
    half.update_target()
    assert len(calls) == 2  # 4 losses, 2 optimizer steps: 2 EMA steps
    for a, b in zip(target_state(half), target_state(full)):
        torch.testing.assert_close(a, b)
    for a, b in zip(half.backbone.parameters(), full.backbone.parameters()):
        torch.testing.assert_close(a, b)
    assert not torch.equal(target_state(full)[0],
                           full.backbone.conv.weight)  # the test has teeth


def test_a_skipped_amp_step_does_not_move_the_target():
    model = tiny_byol()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    scaler = torch.amp.GradScaler('cpu')
    model.follow_optimizer(opt)

    def step(inf=False):
        opt.zero_grad()
        loss = model.loss(list(batch()))['loss']
        scaler.scale(loss).backward()
        if inf:
            model.backbone.conv.weight.grad[0, 0, 0, 0] = float('inf')
        scaler.step(opt)
        scaler.update()

    step()  # a real step: the next loss moves the target
    before = target_state(model)
    online = copy.deepcopy(model.backbone.conv.weight.detach())
    step(inf=True)  # its loss made the EMA step of the real one ...
    moved = target_state(model)
    assert not torch.equal(moved[0], before[0])
    torch.testing.assert_close(model.backbone.conv.weight, online)  # skipped
    model.update_target()  # ... and the skipped step makes none
    for a, b in zip(target_state(model), moved):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_without_an_optimizer_every_training_loss_moves_the_target():
    model = tiny_byol()
    with torch.no_grad():
        model.backbone.conv.weight.add_(1.0)
    model.loss(list(batch()))
    first = target_state(model)
    model.loss(list(batch()))
    assert not torch.equal(target_state(model)[0], first[0])


def test_resumed_follow_keeps_the_due_step():
    model = tiny_byol()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with torch.no_grad():
        model.backbone.conv.weight.add_(1.0)  # as if a step had happened
    model.follow_optimizer(opt, stepped=True)
    before = target_state(model)
    model.update_target()
    assert not torch.equal(target_state(model)[0], before[0])
    again = target_state(model)
    model.update_target()  # no new step: no new EMA step
    torch.testing.assert_close(target_state(model)[0], again[0], rtol=0,
                               atol=0)
