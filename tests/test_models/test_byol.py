"""BYOL model: target initialisation, EMA step, loss and a plain train step."""
import copy

import pytest
import torch

from ssl_plugins.registry import MODELS

CFG = dict(
    type='BYOL',
    base_momentum=0.9,
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8),
    neck=dict(type='MLPNeck', in_channels=64, hid_channels=32,
              out_channels=16),
    head=dict(type='LatentPredictHead',
              predictor=dict(type='MLPNeck', in_channels=16, hid_channels=32,
                             out_channels=16, with_avg_pool=False),
              loss=dict(type='BYOLLoss')))


def build():
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(CFG))
    model.init_weights()
    return model


def online_params(model):
    return [p for m in (model.backbone, model.neck) for p in m.parameters()]


def target_params(model):
    return list(model.target.parameters())


def test_target_starts_equal_and_gets_no_gradient():
    model = build()
    target, online = target_params(model), online_params(model)
    assert len(target) == len(online) > 0
    for t, o in zip(target, online):
        assert torch.equal(t, o)
        assert not t.requires_grad
    views = [torch.randn(8, 3, 16, 16), torch.randn(8, 3, 16, 16)]
    model.loss(views)['loss'].backward()
    assert [t.grad is None for t in target] == [True] * len(online)
    assert [p.grad is not None for p in online] == [True] * len(online)


def test_one_ema_step_equals_formula():
    model = build()
    with torch.no_grad():  # make online and target differ
        for p in online_params(model):
            p.add_(torch.randn_like(p))
    before_t = [t.clone() for t in target_params(model)]
    before_o = [o.clone() for o in online_params(model)]
    model.set_momentum(0.7)
    model.train()
    model.loss([torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)])
    for t, t0, o0 in zip(target_params(model), before_t, before_o):
        assert torch.allclose(t, 0.7 * t0 + 0.3 * o0, atol=1e-6)


def test_loss_is_symmetric_paper_value():
    model = build()
    model.eval()  # no EMA step, BN in eval mode: deterministic
    v1, v2 = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    loss = model.loss([v1, v2])['loss']

    def ref(a, b):
        q = model.head.predictor(model.neck(model.backbone(a)))
        z = model.target.neck(model.target.backbone(b))
        q = q / q.norm(dim=1, keepdim=True)
        z = z / z.norm(dim=1, keepdim=True)
        return (2 - 2 * (q * z).sum(1)).mean()

    assert torch.allclose(loss, (ref(v1, v2) + ref(v2, v1)) / 2, atol=1e-5)
    assert 0 <= float(loss.detach()) <= 4


def test_plain_train_step_without_runner_decreases_loss():
    # mmpretrain's BYOL needs the MessageHub's max_iters; ours does not.
    from mmengine.optim import OptimWrapper
    model = build()
    model.train()
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05,
        momentum=0.9))
    torch.manual_seed(1)
    batch = dict(inputs=[torch.rand(16, 3, 16, 16) * 255,
                         torch.rand(16, 3, 16, 16) * 255],
                 data_samples=None)
    losses = [float(model.train_step(batch, optim)['loss']) for _ in range(15)]
    assert losses[-1] < losses[0]


def test_too_few_views_is_a_clear_error():
    model = build()
    with pytest.raises(ValueError, match='at least 2 views'):
        model.loss([torch.randn(2, 3, 16, 16)])


def test_neck_dimension_mismatch_is_named():
    cfg = copy.deepcopy(CFG)
    cfg['neck']['in_channels'] = 100
    model = MODELS.build(cfg)
    with pytest.raises(ValueError, match='in_channels'):
        model.loss([torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)])


def test_backbone_per_resolution_one_call_per_size():
    model = build()
    calls = []
    model.backbone.register_forward_hook(
        lambda m, i, o: calls.append(i[0].shape))
    views = [torch.randn(2, 3, 16, 16)] * 2 + [torch.randn(2, 3, 8, 8)] * 3
    outs = model.backbone_per_resolution(model.backbone, views)
    assert len(calls) == 2 and len(outs) == 5
    assert calls[0][0] == 4 and calls[1][0] == 6
