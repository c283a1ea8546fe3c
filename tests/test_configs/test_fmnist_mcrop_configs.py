"""The multi-crop configs on the demo's network (``*_out256*_mcrop-*``) and
their 2-view twins, compared at equal wall clock in docs/benchmarks.md
("Multi-crop at equal wall clock"): each pair differs only in its 6 local
crops (same global crops, ops and recipe), one loss step reaches every view
and every backbone parameter, and the local crops leave the backbone's BN
running statistics alone."""
import functools
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from helpers import REPO
from ssl_plugins.registry import MODELS, TRANSFORMS

PAIRS = {  # multi-crop config -> its twin, both under configs/
    'byol/byol_resnet10-w16-s2-out256-mlp1024_1xb256-mcrop-2-6-coslr-10e-'
    'bf16_fashion-mnist.py':
    'byol/byol_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_'
    'fashion-mnist.py',
    'simsiam/simsiam_resnet10-w16-s2-out256-mlp1024_1xb256-mcrop-2-6-coslr-'
    '10e-bf16_fashion-mnist.py':
    'simsiam/simsiam_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_'
    'fashion-mnist.py',
    'barlow_twins/barlowtwins_resnet10-w16-s2-out256-proj1024_1xb256-mcrop-'
    '2-6-coslr-10e-bf16_fashion-mnist.py':
    'barlow_twins/barlowtwins_resnet10-w16-s2-out256-proj1024_1xb256-coslr-'
    '10e-bf16_fashion-mnist.py',
    # DINO's shipped config is the multi-crop one; its twin drops the locals
    'dino/dino_resnet10-w16-s2-out256-bnhead-h512-k1024_1xb256-coslr-10e-'
    'bf16_fashion-mnist.py':
    'dino/dino_resnet10-w16-s2-out256-bnhead-h512-k1024_1xb256-mcrop-2-0-'
    'coslr-10e-bf16_fashion-mnist.py',
}
#: what a multi-crop config may change in its twin
ALLOWED = {'train_dataloader.dataset.pipeline', 'model.num_global_views'}
MULTI_CROP = sorted(PAIRS)
ALL_CONFIGS = sorted({name for pair in PAIRS.items() for name in pair})


@functools.lru_cache()
def _load(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def _diff(a, b, prefix=''):
    """Dotted keys where the two nested dicts differ (a key missing on one
    side differs from any value on the other)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = set()
        for key in set(a) | set(b):
            if (key in a) != (key in b):
                out.add(f'{prefix}{key}')
            else:
                out |= _diff(a[key], b[key], f'{prefix}{key}.')
        return out
    return set() if a == b else {prefix[:-1]}


def _crops(cfg):
    """The MultiCrop step as one (size, scale, transforms) per crop, its
    other arguments, and the pipeline after it."""
    pipeline = cfg.to_dict()['train_dataloader']['dataset']['pipeline']
    step = dict(pipeline[0])
    assert step.pop('type') == 'MultiCrop'
    groups = [step.pop(k) for k in ('num_crops', 'crop_sizes',
                                    'crop_scales')]
    transforms = step.pop('transforms', None) or [[]] * len(groups[0])
    crops = []
    for n, size, scale, ops in zip(*groups, transforms):
        crops += [(size, tuple(scale), ops)] * n
    return crops, step, pipeline[1:]


def _views(cfg):
    crop = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[0])
    img = np.random.default_rng(0).integers(0, 256, (28, 28, 3),
                                            dtype=np.uint8)
    return [v.shape for v in crop.transform(dict(img=img))['img']]


@pytest.mark.parametrize('mcrop,twin', PAIRS.items())
def test_pair_differs_only_in_its_local_crops(mcrop, twin):
    a, b = _load(mcrop), _load(twin)
    changed = _diff(a.to_dict(), b.to_dict())
    assert 'train_dataloader.dataset.pipeline' in changed
    assert changed <= ALLOWED, changed - ALLOWED
    crops_a, args_a, rest_a = _crops(a)
    crops_b, args_b, rest_b = _crops(b)
    # the same two global crops (size, scale, ops), the same crop
    # arguments and the same steps after the crops; 6 local crops of 12 px
    assert crops_b == crops_a[:2] and len(crops_a) == 8
    assert [c[0] for c in crops_a] == [28, 28] + [12] * 6
    assert args_a == args_b and rest_a == rest_b
    assert _views(a) == [(28, 28, 3)] * 2 + [(12, 12, 3)] * 6
    assert _views(b) == [(28, 28, 3)] * 2


def _model(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def _views_of(cfg, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, s[0], s[0], generator=g, requires_grad=True)
            for s in _views(cfg)]


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_one_loss_step_reaches_every_view_and_backbone_parameter(name):
    cfg = _load(name)
    model, views = _model(cfg), _views_of(cfg)
    losses = model.loss(views)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    loss.backward()
    # every view, local crops included, moves the loss
    assert [v.grad is not None and bool(v.grad.abs().sum() > 0)
            for v in views] == [True] * len(views)
    params = list(model.backbone.named_parameters())
    assert params
    missing = [n for n, p in params
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


@pytest.mark.parametrize('name', MULTI_CROP)
def test_local_crops_leave_the_backbone_bn_statistics_alone(name):
    cfg = _load(name)
    views = [v.detach() for v in _views_of(cfg)]
    with_local, global_only = _model(cfg), _model(cfg)
    with_local.loss(views)
    global_only.loss(views[:2])
    stats = [(n, b) for n, b in with_local.backbone.named_buffers()
             if 'running' in n]
    assert stats
    ref = dict(global_only.backbone.named_buffers())
    for n, b in stats:
        torch.testing.assert_close(b, ref[n], atol=0, rtol=0, msg=n)
    fresh = dict(_model(cfg).backbone.named_buffers())
    assert any(not torch.equal(b, fresh[n]) for n, b in stats)  # it moved
