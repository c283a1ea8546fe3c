"""SimSiam and Barlow Twins models: structure as the papers, losses equal to
the formulas on the outputs."""
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from ssl_plugins.functional.barlow_twins import barlow_twins_loss
from ssl_plugins.functional.simsiam import simsiam_loss
from ssl_plugins.registry import MODELS

# A 64-channel CIFAR ResNet-18 so that each test takes a fraction of a second.
TINY_BACKBONE = dict(type='ResNet_CIFAR',
                     depth=18,
                     stem_channels=8,
                     base_channels=8,
                     strides=(2, 2, 2, 2),
                     norm_cfg=dict(type='BN'),
                     zero_init_residual=True)


def tiny_simsiam(dim: int = 32, pred_dim: int = 8):
    """The paper's architecture at toy width."""
    return MODELS.build(
        dict(type='SimSiam',
             backbone=TINY_BACKBONE,
             neck=dict(type='MLPNeck',
                       in_channels=64,
                       hid_channels=dim,
                       out_channels=dim,
                       num_layers=3,
                       with_bias=False,
                       with_last_bias=False,
                       with_last_bn=True,
                       with_last_bn_affine=False),
             head=dict(type='LatentPredictHead',
                       predictor=dict(type='MLPNeck',
                                      in_channels=dim,
                                      hid_channels=pred_dim,
                                      out_channels=dim,
                                      num_layers=2,
                                      with_bias=False,
                                      with_last_bias=True,
                                      with_avg_pool=False),
                       loss=dict(type='SimSiamLoss'))))


def test_simsiam_loss_is_the_symmetric_formula_on_the_model_outputs():
    torch.manual_seed(0)
    model = tiny_simsiam().train()
    v1, v2 = torch.randn(6, 3, 16, 16), torch.randn(6, 3, 16, 16)
    out = model.loss([v1, v2])
    z1, z2 = model.neck(model.backbone(v1)), model.neck(model.backbone(v2))
    p1, p2 = model.head.predictor(z1), model.head.predictor(z2)
    torch.testing.assert_close(out['loss'], simsiam_loss(p1, p2, z1, z2))
    assert -1.0 <= float(out['loss']) <= 1.0
    assert 0.0 < float(out['z_std']) < 1.0
    out['loss'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.head.predictor.mlp[0].weight.grad.abs().sum() > 0


def test_simsiam_train_step_without_runner_decreases_loss():
    """mmengine's train_step in a plain loop (no MessageHub, no hooks)."""
    torch.manual_seed(0)
    model = tiny_simsiam()
    ow = build_optim_wrapper(
        model,
        dict(optimizer=dict(
            type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)))
    x = torch.rand(16, 3, 16, 16) * 255
    data = dict(inputs=[x, x.flip(-1)], data_samples=None)
    losses = [float(model.train_step(data, ow)['loss']) for _ in range(8)]
    assert losses[-1] < losses[0]


def _linears_and_norms(module: nn.Module):
    return [
        m for m in module.modules()
        if isinstance(m, (nn.Linear, nn.BatchNorm1d))
    ]


def test_simsiam_projector_and_predictor_layers_as_the_paper():
    model = tiny_simsiam()
    layers = _linears_and_norms(model.neck)
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ['Linear', 'BatchNorm1d'
                     ] * 3  # BN on every layer, output included
    assert [m.bias is None for m in layers
            if isinstance(m, nn.Linear)] == [True] * 3
    assert layers[-1].affine is False and layers[1].affine and layers[3].affine
    pred = _linears_and_norms(model.head.predictor)
    assert [type(m).__name__
            for m in pred] == ['Linear', 'BatchNorm1d',
                               'Linear']  # no BN on the output
    assert (pred[0].in_features, pred[0].out_features,
            pred[2].out_features) == (32, 8, 32)
    assert pred[-1].bias is not None


def tiny_barlow_twins(dim: int = 32):
    return MODELS.build(
        dict(type='BarlowTwins',
             backbone=TINY_BACKBONE,
             neck=dict(type='MLPNeck',
                       in_channels=64,
                       hid_channels=dim,
                       out_channels=dim,
                       num_layers=3,
                       with_bias=False,
                       with_last_bias=False),
             head=dict(type='BarlowTwinsLoss', lambd=0.0051)))


def test_barlow_twins_loss_is_the_formula_on_the_model_outputs():
    torch.manual_seed(0)
    model = tiny_barlow_twins().train()
    v1, v2 = torch.randn(8, 3, 16, 16), torch.randn(8, 3, 16, 16)
    out = model.loss([v1, v2])
    z1, z2 = model.neck(model.backbone(v1)), model.neck(model.backbone(v2))
    torch.testing.assert_close(out['loss'],
                               barlow_twins_loss(z1, z2, lambd=0.0051))
    out['loss'].backward()
    assert model.neck.mlp[0].weight.grad.abs().sum() > 0


def test_barlow_twins_projector_has_no_bias_and_ends_with_linear():
    layers = [
        m for m in tiny_barlow_twins().neck.modules()
        if isinstance(m, (nn.Linear, nn.BatchNorm1d))
    ]
    assert [type(m).__name__ for m in layers
            ] == ['Linear', 'BatchNorm1d', 'Linear', 'BatchNorm1d', 'Linear']
    assert [m.bias is None for m in layers
            if isinstance(m, nn.Linear)] == [True] * 3
