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


def test_channels_last_requested_reads_the_runner_config():
    from ssl_plugins.engine.hooks.channels_last_hook import (
        ChannelsLastHook, channels_last_requested)

    class Faster(ChannelsLastHook):
        pass

    others = [dict(type='TargetMomentumHook')]
    for entry in (dict(type='ChannelsLastHook'),
                  dict(type='ssl_plugins.ChannelsLastHook'),
                  dict(type=ChannelsLastHook), dict(type=Faster),
                  ChannelsLastHook(), Faster()):
        assert channels_last_requested(dict(custom_hooks=[*others, entry]))
        assert channels_last_requested(dict(custom_hooks=entry))
        assert channels_last_requested(
            dict(default_hooks=dict(logger=None, layout=entry)))
    for cfg in (None, {}, dict(custom_hooks=None),
                dict(custom_hooks=others, default_hooks=dict(
                    logger=dict(type='LoggerHook'), timer=None)),
                dict(custom_hooks=[dict(type='NoSuchHook')]),
                dict(custom_hooks=[dict(type='nosuchscope.Hook')])):
        assert not channels_last_requested(cfg), cfg


def test_wrap_with_channels_last_layout_builds_on_nhwc_and_restores():
    """The wrapper sees channels_last weights; afterwards each weight has its
    previous strides, values and identity back (init_weights and checkpoint
    loading then run as without the hook)."""
    from ssl_plugins.engine.hooks.channels_last_hook import (
        is_channels_last, wrap_with_channels_last_layout)
    model = _model()
    params = dict(model.named_parameters())
    before = {k: (p.stride(), p.detach().clone()) for k, p in params.items()}
    seen = {}

    def wrap(bare):
        assert bare is model
        seen.update({k: p.stride() for k, p in bare.named_parameters()})
        return bare

    assert wrap_with_channels_last_layout(model, wrap) is model
    # 1x1 downsample convs too: their NCHW weights pass
    # is_contiguous(channels_last) with other strides than converted ones
    one_by_one = 'layer2.0.downsample.0.weight'
    assert params[one_by_one].shape[2:] == (1, 1)
    for name, param in model.named_parameters():
        if param.dim() == 4:
            converted = param.detach().to(memory_format=torch.channels_last)
            assert seen[name] == converted.stride() != before[name][0], name
        else:
            assert seen[name] == before[name][0], name
        assert param is params[name]
        assert param.stride() == before[name][0], name
        assert torch.equal(param, before[name][1]), name
    assert not is_channels_last(model)
    HOOKS.build(dict(type='ChannelsLastHook')).before_train(
        SimpleNamespace(model=model))
    assert is_channels_last(model)
    assert params[one_by_one].stride() == params[one_by_one].detach().to(
        memory_format=torch.channels_last).stride()
