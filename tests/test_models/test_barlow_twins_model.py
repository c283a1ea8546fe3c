"""Barlow Twins model: projector as the paper, loss equal to the formula on the model's outputs."""
import torch
from torch import nn

from ssl_plugins.functional.barlow_twins import barlow_twins_loss
from ssl_plugins.registry import MODELS



def tiny_barlow_twins(dim: int = 32):
    return MODELS.build(dict(
        type='BarlowTwins',
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
                      strides=(2, 2, 2, 2), norm_cfg=dict(type='BN'), zero_init_residual=True),
        neck=dict(type='MLPNeck', in_channels=64, hid_channels=dim, out_channels=dim, num_layers=3,
                  with_bias=False, with_last_bias=False),
        head=dict(type='BarlowTwinsLoss', lambd=0.0051)))


def test_loss_is_the_formula_on_the_model_outputs():
    torch.manual_seed(0)
    model = tiny_barlow_twins().train()
    v1, v2 = torch.randn(8, 3, 16, 16), torch.randn(8, 3, 16, 16)
    out = model.loss([v1, v2])
    z1, z2 = model.neck(model.backbone(v1)), model.neck(model.backbone(v2))
    torch.testing.assert_close(out['loss'], barlow_twins_loss(z1, z2, lambd=0.0051))
    out['loss'].backward()
    assert model.neck.mlp[0].weight.grad.abs().sum() > 0


def test_projector_has_no_bias_and_ends_with_linear():
    layers = [m for m in tiny_barlow_twins().neck.modules() if isinstance(m, (nn.Linear, nn.BatchNorm1d))]
    assert [type(m).__name__ for m in layers] == ['Linear', 'BatchNorm1d', 'Linear', 'BatchNorm1d', 'Linear']
    assert all(m.bias is None for m in layers if isinstance(m, nn.Linear))
