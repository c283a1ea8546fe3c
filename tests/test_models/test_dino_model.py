"""DINO algorithm, neck and head: teacher EMA, no_grad, views, centre."""
import copy

import pytest
import torch
import torch.nn.functional as F

from helpers import run_distributed
from ssl_plugins.functional.dino import dino_loss
from ssl_plugins.registry import MODELS

K = 128


def tiny_vit_dino(drop_path_rate=0.0, **kwargs):
    return MODELS.build(
        dict(type='DINO',
             backbone=dict(type='VisionTransformer',
                           arch=dict(embed_dims=32,
                                     num_layers=2,
                                     num_heads=2,
                                     feedforward_channels=64),
                           img_size=16,
                           patch_size=4,
                           drop_path_rate=drop_path_rate,
                           out_type='cls_token'),
             neck=dict(type='DINONeck',
                       in_channels=32,
                       out_channels=K,
                       hidden_channels=64,
                       bottleneck_channels=16),
             head=dict(type='DINOHead',
                       loss=dict(type='DINOLoss', out_channels=K)),
             **kwargs))


def tiny_resnet_dino():
    return MODELS.build(
        dict(type='DINO',
             backbone=dict(type='ResNet_CIFAR',
                           depth=18,
                           stem_channels=8,
                           base_channels=8,
                           norm_cfg=dict(type='BN')),
             neck=dict(type='DINONeck',
                       in_channels=64,
                       out_channels=K,
                       hidden_channels=32,
                       bottleneck_channels=16),
             head=dict(type='DINOHead',
                       loss=dict(type='DINOLoss', out_channels=K))))


def views(batch=4, n_local=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ([torch.randn(batch, 3, 16, 16, generator=g) for _ in range(2)] +
            [torch.randn(batch, 3, 8, 8, generator=g) for _ in range(n_local)])


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def test_teacher_changes_only_by_ema_and_gets_no_gradient():
    torch.manual_seed(0)
    model = tiny_vit_dino()
    model.init_weights()
    model.train()
    model.set_momentum(0.9)
    student = dict(backbone=model.backbone, neck=model.neck)
    teacher0 = params(model.teacher)
    n = sum(len(params(m)) for m in student.values())  # teacher mirrors them
    assert len(teacher0) == n > 0
    assert [p.requires_grad for p in model.teacher.parameters()] == [False] * n
    optim = torch.optim.SGD(
        [p for n, p in model.named_parameters() if p.requires_grad], lr=0.5)

    loss = model.loss(views())['loss']
    loss.backward()
    assert [p.grad is None for p in model.teacher.parameters()] == [True] * n
    # teacher == student at init, so the first EMA leaves it unchanged
    for p, p0 in zip(model.teacher.parameters(), teacher0):
        torch.testing.assert_close(p, p0)
    optim.step()
    optim.zero_grad()
    model.update_center()
    theta1 = [
        p.detach().clone() for m in student.values() for p in m.parameters()
    ]
    assert any(not torch.equal(a, b) for a, b in zip(theta1, teacher0))

    model.loss(views(seed=1))  # EMA at the start of the next step
    for xi, xi0, th in zip(model.teacher.parameters(), teacher0, theta1):
        torch.testing.assert_close(xi, 0.9 * xi0 + 0.1 * th)


def test_teacher_sees_only_global_views_under_no_grad():
    model = tiny_vit_dino()
    model.init_weights()
    seen = []

    def spy(module, args, output):
        seen.append((tuple(args[0].shape), torch.is_grad_enabled(),
                     output.requires_grad))

    model.teacher.neck.register_forward_hook(spy)
    batch_shapes = []
    model.teacher.backbone.register_forward_hook(
        lambda m, a, o: batch_shapes.append(tuple(a[0].shape)))
    model.loss(views(batch=4, n_local=3))
    assert batch_shapes == [(8, 3, 16, 16)]  # 2 global views, one call
    assert seen == [((8, 32), False, False)]


def test_teacher_has_no_drop_path_student_has():
    torch.manual_seed(0)
    model = tiny_vit_dino(drop_path_rate=0.5)
    model.init_weights()
    model.train()
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        t1, t2 = model.teacher.backbone(x)[-1], model.teacher.backbone(x)[-1]
        s1, s2 = model.backbone(x)[-1], model.backbone(x)[-1]
    torch.testing.assert_close(t1, t2)
    assert not torch.allclose(s1, s2)


def test_loss_and_centre_match_formula():
    torch.manual_seed(0)
    model = tiny_vit_dino()
    model.init_weights()
    model.train()
    model.set_teacher_temp(0.05)
    center0 = torch.randn(1, K) * 0.1
    model.head.loss_module.center.copy_(center0)
    v = views()
    with torch.no_grad():
        t_out = model.teacher.neck(
            torch.cat([model.teacher.backbone(x)[-1] for x in v[:2]]))
        s_out = model.neck(
            torch.cat([
                model.backbone(torch.cat(v[:2]))[-1],
                model.backbone(torch.cat(v[2:]))[-1]
            ]))
    loss = model.loss(v)['loss']
    expected = dino_loss(s_out, t_out, center0, teacher_temp=0.05)
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-5)
    # the loss only records the batch; the hook's call moves the centre
    torch.testing.assert_close(model.head.loss_module.center, center0)
    model.update_center()
    torch.testing.assert_close(model.head.loss_module.center,
                               0.9 * center0 + 0.1 * t_out.mean(0, True),
                               rtol=1e-4,
                               atol=1e-6)
    # no centre update outside training
    model.eval()
    before = model.head.loss_module.center.clone()
    model.loss(v)
    torch.testing.assert_close(model.head.loss_module.center, before)


def test_resnet_multi_resolution_and_checkpoint_keys():
    model = tiny_resnet_dino()
    model.init_weights()
    out = model.loss(views())
    assert out['loss'].ndim == 0 and torch.isfinite(out['loss'])
    keys = model.state_dict().keys()
    assert 'head.loss_module.center' in keys
    assert any(k.startswith('target.backbone.') for k in keys)
    assert not any(k.startswith('teacher.') for k in keys)
    assert any(k.startswith('backbone.') for k in keys)


def test_neck_formula_and_fixed_norm():
    torch.manual_seed(0)
    neck = MODELS.build(
        dict(type='DINONeck',
             in_channels=12,
             out_channels=20,
             hidden_channels=16,
             bottleneck_channels=8))
    x = torch.randn(5, 12)
    lin = [m for m in neck.mlp if isinstance(m, torch.nn.Linear)]
    assert len(lin) == 3
    h = F.gelu(lin[0](x))
    h = F.gelu(lin[1](h))
    h = F.normalize(lin[2](h), dim=-1)
    w = neck.last_layer.weight
    torch.testing.assert_close(w.norm(dim=1), torch.ones(20))
    torch.testing.assert_close(neck(x), h @ w.t())
    g, v = neck.last_layer_parameters()
    assert not g.requires_grad and v.requires_grad
    free = MODELS.build(
        dict(type='DINONeck',
             in_channels=12,
             out_channels=20,
             hidden_channels=16,
             bottleneck_channels=8,
             norm_last_layer=False))
    assert [p.requires_grad
            for p in free.last_layer_parameters()] == [True, True]
    # 4-d maps are average-pooled; (N, C) features pass through
    torch.testing.assert_close(neck(x[:, :, None, None].expand(5, 12, 3, 3)),
                               neck(x))
    with pytest.raises(ValueError, match='num_layers'):
        MODELS.build(dict(type='DINONeck', in_channels=4, num_layers=0))


def test_too_few_views_is_a_clear_error():
    model = tiny_vit_dino()
    with pytest.raises(ValueError, match='at least 2 views'):
        model.loss(views()[:1])


def _dist_step(rank, world_size, state):
    """Half of the batch per rank: same centre and loss as one process."""
    from ssl_plugins.utils import register_all_modules
    register_all_modules()
    model = tiny_vit_dino()
    model.load_state_dict(state)
    model.train()
    v = views(batch=6)
    half = [x[rank * 3:(rank + 1) * 3] for x in v]
    loss = model.loss(half)['loss'].detach()
    model.update_center()
    torch.distributed.all_reduce(loss)
    # numpy: see tests/test_functional/test_dino.py
    return ((loss / world_size).numpy(),
            model.head.loss_module.center.numpy().copy())


def test_two_processes_match_one():
    torch.manual_seed(0)
    model = tiny_vit_dino()
    model.init_weights()
    model.head.loss_module.center.normal_(0, 0.1)
    state = copy.deepcopy(model.state_dict())
    model.train()
    loss = model.loss(views(batch=6))['loss'].detach()
    model.update_center()
    center = model.head.loss_module.center
    for rank_loss, rank_center in run_distributed(_dist_step, 2, (state, )):
        torch.testing.assert_close(torch.from_numpy(rank_loss),
                                   loss,
                                   rtol=1e-5,
                                   atol=1e-6)
        torch.testing.assert_close(torch.from_numpy(rank_center),
                                   center,
                                   rtol=1e-5,
                                   atol=1e-7)


def test_student_learns_to_match_a_fixed_teacher():
    """Teacher (tau = 1) and centre (m = 1) held: training steps on one batch
    lower the loss, i.e. the gradient pulls the student towards the teacher."""
    torch.manual_seed(0)
    model = tiny_vit_dino()
    model.init_weights()
    model.train()
    model.set_momentum(1.0)
    model.head.loss_module.center_momentum = 1.0
    teacher0 = params(model.teacher)
    optim = torch.optim.AdamW(
        [p for n, p in model.named_parameters() if p.requires_grad], lr=1e-3)
    v = views(batch=8)
    losses = []
    for _ in range(10):
        loss = model.loss(v)['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        model.update_center()  # m = 1: the centre stays
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses
    for p, p0 in zip(model.teacher.parameters(), teacher0):
        assert torch.equal(p, p0)
