"""BN running statistics from the global crops only (SwAV, DINO's student):
same training step, eval-mode statistics of full-size views."""
import re

import pytest
import torch
from mmengine.model import BaseDataPreprocessor
from torch import nn

from ssl_plugins.models.algorithms import DINO, SwAV
from ssl_plugins.models.utils import frozen_running_stats
from ssl_plugins.registry import MODELS


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),
                         nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                         nn.BatchNorm2d(8))


def _stats(module):
    return {k: v.clone() for k, v in module.state_dict().items()
            if 'running' in k or 'num_batches' in k}


def test_frozen_running_stats_same_outputs_and_grads_no_update():
    plain, frozen = _net(), _net()
    x = torch.randn(4, 3, 8, 8) * 3 + 1
    before = _stats(frozen)
    out_plain = plain(x)
    with frozen_running_stats(frozen):
        out_frozen = frozen(x)
    torch.testing.assert_close(out_frozen, out_plain)
    out_plain.square().sum().backward()
    out_frozen.square().sum().backward()
    for a, b in zip(plain.parameters(), frozen.parameters()):
        torch.testing.assert_close(b.grad, a.grad)
    for k, v in _stats(frozen).items():
        torch.testing.assert_close(v, before[k], msg=k)
    # the plain module did update them, and the flag is restored
    assert not torch.equal(_stats(plain)['1.running_mean'],
                           before['1.running_mean'])
    assert [m.track_running_stats for m in frozen.modules()
            if isinstance(m, nn.BatchNorm2d)] == [True, True]
    frozen(x)
    torch.testing.assert_close(_stats(frozen)['1.running_mean'],
                               _stats(plain)['1.running_mean'])


def test_frozen_running_stats_restores_after_an_error():
    net = _net()
    with pytest.raises(RuntimeError):
        with frozen_running_stats(net):
            net(torch.randn(2, 5, 8, 8))  # wrong channels
    assert [m.track_running_stats for m in net.modules()
            if isinstance(m, nn.BatchNorm2d)] == [True, True]


def _backbone():
    return dict(type='ResNet10_CIFAR', stem_channels=8, base_channels=8,
                strides=(2, 2, 2, 2), norm_cfg=dict(type='BN'))


def _swav(flag):
    torch.manual_seed(0)
    return SwAV(backbone=_backbone(),
                neck=dict(type='MLPNeck', in_channels=64, hid_channels=32,
                          out_channels=16),
                head=dict(type='SwAVHead', feat_dim=16, num_prototypes=10,
                          loss=dict(type='SwAVLoss')),
                bn_stats_from_global_views=flag,
                data_preprocessor=BaseDataPreprocessor())


def _dino(flag):
    torch.manual_seed(0)
    model = DINO(backbone=_backbone(),
                 neck=dict(type='DINONeck', in_channels=64, out_channels=32,
                           hidden_channels=32, bottleneck_channels=16),
                 head=dict(type='DINOHead',
                           loss=dict(type='DINOLoss', out_channels=32)),
                 bn_stats_from_global_views=flag,
                 data_preprocessor=BaseDataPreprocessor())
    model.init_weights()
    return model


def _views():
    g = torch.Generator().manual_seed(1)
    glob = [torch.randn(4, 3, 16, 16, generator=g) for _ in range(2)]
    # local crops with other statistics than the global ones
    local = [3 * torch.randn(4, 3, 8, 8, generator=g) + 2 for _ in range(3)]
    return glob + local


@pytest.mark.parametrize('build', [_swav, _dino], ids=['swav', 'dino'])
def test_running_stats_from_global_views_only(build):
    views = _views()
    model, reference, everything = build(True), build(True), build(False)
    for m in (model, reference, everything):
        m.train()
    loss = model.loss(views, None)['loss']
    loss_all = everything.loss(views, None)['loss']
    # same loss and gradients: batch statistics in training either way
    torch.testing.assert_close(loss, loss_all)
    loss.backward()
    loss_all.backward()
    for (name, a), b in zip(model.backbone.named_parameters(),
                            everything.backbone.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)
    # the statistics are those of one forward of the global crops alone
    reference.backbone(torch.cat(views[:2]))
    got, want = _stats(model.backbone), _stats(reference.backbone)
    for k in want:
        torch.testing.assert_close(got[k], want[k], msg=k)
    # ... which letting every crop update them does not give
    assert not torch.allclose(_stats(everything.backbone)['bn1.running_var'],
                              want['bn1.running_var'])


def test_resnet10_cifar_one_block_per_stage():
    net = MODELS.build(dict(_backbone(), out_indices=(0, 1, 2, 3)))
    keys = net.state_dict().keys()
    assert {k.split('.')[1] for k in keys if k.startswith('layer')} == {'0'}
    outs = net(torch.randn(2, 3, 28, 28))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (8, 14, 14), (16, 7, 7), (32, 4, 4), (64, 2, 2)]
    # ResNet-18 of the same width: the same keys for block 0 of each stage
    r18 = MODELS.build(dict(_backbone(), type='mmpretrain.ResNet_CIFAR',
                            depth=18)).state_dict()
    assert set(keys) == {k for k in r18 if not re.match(r'layer\d\.1\.', k)}
    with pytest.raises(KeyError, match='depth 18'):
        MODELS.build(dict(_backbone(), depth=18))
