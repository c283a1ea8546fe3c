"""ChannelsLastHook: same values and same optimizer step, NHWC layout."""
from types import SimpleNamespace

import torch

from ssl_plugins.registry import HOOKS, MODELS


def _model():
    torch.manual_seed(0)
    return MODELS.build(dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                             stem_channels=8, base_channels=8,
                             norm_cfg=dict(type='BN')))


def test_channels_last_step_equals_contiguous_step():
    plain, converted = _model(), _model()
    opt_plain = torch.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    opt_conv = torch.optim.SGD(converted.parameters(), lr=0.1, momentum=0.9)
    HOOKS.build(dict(type='ChannelsLastHook')).before_train(
        SimpleNamespace(model=converted))
    conv_w = converted.conv1.weight
    assert conv_w.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(4, 3, 16, 16)
    for model, opt in ((plain, opt_plain), (converted, opt_conv)):
        for _ in range(2):
            out = model(x)[-1]
            opt.zero_grad()
            out.pow(2).mean().backward()
            opt.step()
    assert converted(x)[-1].is_contiguous(memory_format=torch.channels_last)
    for p, q in zip(plain.parameters(), converted.parameters()):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)
    # the optimizer still holds (and updated) the converted parameters
    assert any(p is conv_w for g in opt_conv.param_groups for p in g['params'])
