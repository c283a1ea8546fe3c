"""Barlow Twins' LARS recipe: param groups (biases/BN excluded) and the
optimizer step."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

OPTIM = dict(optimizer=dict(type='OfficialLARS',
                            lr=1.6,
                            momentum=0.9,
                            weight_decay=1.5e-6),
             constructor='BiasNormExcludedOptimWrapperConstructor',
             paramwise_cfg=dict(bias_norm_lr_mult=0.0048 / 0.2))


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 8, bias=False),
                         nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8),
                         nn.LayerNorm(8))


def test_param_groups_exclude_biases_and_norms():
    model = _model()
    groups = build_optim_wrapper(model, OPTIM).optimizer.param_groups
    assert len(groups) == 2
    weights, excluded = ({id(p) for p in g['params']} for g in groups)
    norm_params = {
        id(p)
        for m in model.modules() if isinstance(m, (_BatchNorm, nn.LayerNorm))
        for p in m.parameters()
    }
    biases = {
        id(m.bias)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None
    }
    layer_weights = {
        id(m.weight)
        for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    }
    assert excluded == norm_params | biases
    assert weights == layer_weights
    assert groups[0]['lr'] == 1.6 and groups[0][
        'weight_decay'] == 1.5e-6 and not groups[0]['lars_exclude']
    assert groups[1]['lr'] == pytest.approx(0.0384)  # 0.0048 x 2048 / 256
    assert groups[1]['weight_decay'] == 0.0 and groups[1]['lars_exclude']


def test_step_adapts_weights_only():
    model = _model()
    optimizer = build_optim_wrapper(model, OPTIM).optimizer
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model(torch.randn(6, 3, 6, 6)).pow(2).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    optimizer.step()
    for name, p in model.named_parameters():
        step = before[name] - p.detach()
        # first step, zero momentum:
        # ||lr * eta ||w|| u/||u|| || = lr * eta * ||w||
        if p.ndim > 1:
            torch.testing.assert_close(step.norm(),
                                       1.6 * 0.001 * before[name].norm())
        else:  # plain SGD step at the small lr, no weight decay
            torch.testing.assert_close(step, 0.0384 * grads[name])


def test_unknown_paramwise_key_is_a_clear_error():
    with pytest.raises(ValueError, match='bias_lr_mult'):
        build_optim_wrapper(_model(),
                            dict(OPTIM, paramwise_cfg=dict(bias_lr_mult=0.1)))
