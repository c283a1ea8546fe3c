"""Multi-crop BYOL, SimSiam and Barlow Twins.

Two views give exactly the two-view loss and gradients; 2 + N views give
the mean over DINO's pairs computed by hand; every view gets a gradient;
local crops leave the BN running statistics alone; two gloo processes on
half batches equal one process.
"""
import copy

import pytest
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from helpers import run_distributed
from ssl_plugins.functional.barlow_twins import barlow_twins_loss
from ssl_plugins.functional.byol import byol_loss
from ssl_plugins.functional.multi_crop import (global_view_pairs,
                                               unordered_global_pairs)
from ssl_plugins.functional.simsiam import negative_cosine_similarity
from ssl_plugins.registry import MODELS

TINY_RESNET = dict(type='ResNet10_CIFAR', stem_channels=8, base_channels=8,
                   strides=(1, 2, 2, 2), norm_cfg=dict(type='BN'))


def _mlp(c_in, hid, out, layers=2, **kw):
    return dict(type='MLPNeck', in_channels=c_in, hid_channels=hid,
                out_channels=out, num_layers=layers, **kw)


def build(method, backbone=TINY_RESNET, feat=64, layers=2):
    if method == 'byol':
        cfg = dict(type='BYOL', backbone=backbone,
                   neck=_mlp(feat, 32, 16, layers),
                   head=dict(type='LatentPredictHead',
                             predictor=_mlp(16, 32, 16, layers,
                                            with_avg_pool=False),
                             loss=dict(type='BYOLLoss')),
                   base_momentum=0.9)
    elif method == 'simsiam':
        cfg = dict(type='SimSiam', backbone=backbone,
                   neck=_mlp(feat, 32, 16, layers),
                   head=dict(type='LatentPredictHead',
                             predictor=_mlp(16, 8, 16, layers,
                                            with_avg_pool=False),
                             loss=dict(type='SimSiamLoss')))
    else:
        cfg = dict(type='BarlowTwins', backbone=backbone,
                   neck=_mlp(feat, 32, 16, layers, with_bias=False,
                             with_last_bias=False),
                   head=dict(type='BarlowTwinsLoss'))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def views_of(n=6, num_local=3, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return ([torch.randn(n, 3, 16, 16, generator=g, dtype=dtype)
             for _ in range(2)]
            + [torch.randn(n, 3, 8, 8, generator=g, dtype=dtype)
               for _ in range(num_local)])


def two_view_reference(method, model, v1, v2):
    """Each method's symmetric two-view loss, written out as before
    multi-crop existed."""
    z1 = model.neck(model.backbone(v1))
    z2 = model.neck(model.backbone(v2))
    if method == 'byol':
        model.update_target()
        with torch.no_grad():
            t1 = model.target.neck(model.target.backbone(v1))
            t2 = model.target.neck(model.target.backbone(v2))
        pred = model.head.predictor
        return (byol_loss(pred(z1), t2) + byol_loss(pred(z2), t1)) / 2
    if method == 'simsiam':
        pred = model.head.predictor
        return (0.5 * negative_cosine_similarity(pred(z1), z2)
                + 0.5 * negative_cosine_similarity(pred(z2), z1))
    return barlow_twins_loss(z1, z2)


def grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters()
            if p.grad is not None}


@pytest.mark.parametrize('method', ['byol', 'simsiam', 'barlow_twins'])
def test_two_views_give_the_two_view_loss_and_gradients(method):
    model = build(method)
    ref_model = copy.deepcopy(model)
    v1, v2 = views_of(num_local=0)
    loss = model.loss([v1, v2])['loss']
    ref = two_view_reference(method, ref_model, v1, v2)
    torch.testing.assert_close(loss, ref, rtol=0, atol=1e-6)
    loss.backward()
    ref.backward()
    got, want = grads(model), grads(ref_model)
    assert got.keys() == want.keys() and len(got) > 10
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5,
                                   atol=1e-6, msg=name)
    # and the BN running statistics moved the same way
    for (n, b), (_, rb) in zip(model.backbone.named_buffers(),
                               ref_model.backbone.named_buffers()):
        torch.testing.assert_close(b, rb, msg=n)


@pytest.mark.parametrize('method', ['byol', 'simsiam', 'barlow_twins'])
def test_multi_crop_loss_is_the_mean_over_global_pairs(method):
    model = build(method)
    ref_model = copy.deepcopy(model)
    views = views_of(num_local=3)
    loss = model.loss(views)['loss']
    # by hand: each global view alone, the three local views in one call
    net = ref_model
    z = [net.neck(net.backbone(v)) for v in views[:2]]
    z += list(net.neck(net.backbone(torch.cat(views[2:]))).chunk(3))
    if method == 'byol':
        net.update_target()
        with torch.no_grad():
            t = [net.target.neck(net.target.backbone(v)) for v in views[:2]]
        q = [net.head.predictor(z[0]), net.head.predictor(z[1])]
        q += list(net.head.predictor(torch.cat(z[2:])).chunk(3))
        terms = [byol_loss(q[v], t[g]) for g in range(2) for v in range(5)
                 if v != g]
        assert len(terms) == 8
    elif method == 'simsiam':
        p = [net.head.predictor(z[0]), net.head.predictor(z[1])]
        p += list(net.head.predictor(torch.cat(z[2:])).chunk(3))
        terms = [negative_cosine_similarity(p[v], z[g]) for g in range(2)
                 for v in range(5) if v != g]
    else:
        terms = [barlow_twins_loss(z[0], z[1])]
        terms += [barlow_twins_loss(z[g], z[v]) for g in range(2)
                  for v in range(2, 5)]
        assert len(terms) == 7
    torch.testing.assert_close(loss, sum(terms) / len(terms))


@pytest.mark.parametrize('method', ['byol', 'simsiam', 'barlow_twins'])
def test_gradient_reaches_every_view_and_not_the_target(method):
    model = build(method)
    views = [v.requires_grad_() for v in views_of(num_local=4)]
    model.loss(views)['loss'].backward()
    for i, v in enumerate(views):
        assert v.grad is not None and v.grad.abs().sum() > 0, f'view {i}'
    if method == 'byol':
        target = list(model.target.parameters())
        n = len(list(model.backbone.parameters()))
        n += len(list(model.neck.parameters()))  # target mirrors them
        assert [p.grad is None for p in target] == [True] * n


@pytest.mark.parametrize('method', ['byol', 'simsiam', 'barlow_twins'])
def test_local_crops_leave_bn_running_statistics_alone(method):
    with_local, global_only = build(method), build(method)
    views = views_of(num_local=3)
    with_local.loss(views)
    global_only.loss(views[:2])
    for (n, b), (_, ref) in zip(with_local.backbone.named_buffers(),
                                global_only.backbone.named_buffers()):
        torch.testing.assert_close(b, ref, msg=n)
    # the switch is real: with it off, the local crops move the statistics
    model = build(method)
    model.bn_stats_from_global_views = False
    model.loss(views)
    assert not torch.equal(model.backbone.bn1.running_mean,
                           global_only.backbone.bn1.running_mean)


def test_pairs_and_bad_view_counts():
    assert global_view_pairs(2, 2) == [(1, 0), (0, 1)]
    assert len(global_view_pairs(8, 2)) == 14
    assert unordered_global_pairs(2, 2) == [(0, 1)]
    assert len(unordered_global_pairs(8, 2)) == 13
    with pytest.raises(ValueError, match='at least 2 global views'):
        global_view_pairs(3, 1)
    with pytest.raises(ValueError, match='at least 2 global'):
        build('byol').__class__(backbone=TINY_RESNET,
                                neck=_mlp(64, 8, 8),
                                head=dict(type='LatentPredictHead',
                                          predictor=_mlp(8, 8, 8),
                                          loss=dict(type='BYOLLoss')),
                                num_global_views=1)
    with pytest.raises(ValueError, match='needs at least 2 views'):
        build('simsiam').loss(views_of(num_local=0)[:1])


# ---------------------------------------------------------------------------
# 2 gloo processes with 4 + 4 or 3 + 5 samples = 1 process with all 8. A
# network without BatchNorm: per-rank batch statistics would (rightly) differ.
class _ConvNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return (torch.relu(self.conv(x)), )


def _bn_free(method):
    torch.manual_seed(0)
    return build(method, backbone=_ConvNet(), feat=8, layers=1).double()


def _step(model, views):
    model.zero_grad()
    loss = model(views, mode='loss')['loss']
    loss.backward()
    module = getattr(model, 'module', model)
    return loss.detach(), grads(module)


def _rank_worker(rank, world_size, references):
    for (method, split), (ref_loss, ref_grads) in references.items():
        torch.manual_seed(0)
        model = DistributedDataParallel(_bn_free(method))
        bounds = [0, split[0], sum(split)]
        rows = slice(bounds[rank], bounds[rank + 1])
        views = [v[rows] for v in views_of(n=8, num_local=3,
                                           dtype=torch.float64)]
        loss, got = _step(model, views)
        if method != 'barlow_twins':  # per-sample means: DDP averages ranks
            loss = loss.clone()
            torch.distributed.all_reduce(loss)
            loss /= world_size
        where = f'{method} {split}'
        torch.testing.assert_close(loss, ref_loss, msg=where)
        assert got.keys() == ref_grads.keys()
        for name in ref_grads:
            torch.testing.assert_close(got[name], ref_grads[name],
                                       msg=f'{where}: {name}')
    return len(references)


def test_two_processes_with_4_4_and_3_5_samples_match_one_process():
    """Unequal rank batches too: each rank's per-sample mean is weighted by
    its share of the global batch (``global_batch_weight``), so DDP's equal
    average of the ranks is the mean over all 8 samples."""
    references = {}
    for method in ('byol', 'simsiam', 'barlow_twins'):
        ref = _step(_bn_free(method),
                    views_of(n=8, num_local=3, dtype=torch.float64))
        for split in ((4, 4), (3, 5)):
            references[method, split] = ref
    assert run_distributed(_rank_worker, 2, (references, )) == [6, 6]
