"""The multi-crop configs on the demo's network (``*_out256*_mcrop-*``) and
their 2-view twins, compared at equal wall clock in docs/benchmarks.md:
each pair differs only in its crops, the crops are the named ones, and one
loss step trains every parameter of the backbone."""
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
ALLOWED = {'train_dataloader.dataset.pipeline', 'model.num_global_views',
           'global_crops_train_pipeline', 'mcrop_train_pipeline'}


@functools.lru_cache()
def _load(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def _diff(a, b, prefix=''):
    """Dotted keys where the two nested dicts differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = set()
        for key in set(a) | set(b):
            out |= _diff(a.get(key), b.get(key), f'{prefix}{key}.')
        return out
    return set() if a == b else {prefix[:-1]}


def _views(cfg):
    crop = TRANSFORMS.build(cfg.train_dataloader.dataset.pipeline[0])
    img = np.random.default_rng(0).integers(0, 256, (28, 28, 3),
                                            dtype=np.uint8)
    return [v.shape for v in crop.transform(dict(img=img))['img']]


@pytest.mark.parametrize('mcrop,twin', PAIRS.items())
def test_pair_differs_only_in_its_crops(mcrop, twin):
    a, b = _load(mcrop), _load(twin)
    changed = _diff(a.to_dict(), b.to_dict())
    assert 'train_dataloader.dataset.pipeline' in changed
    assert changed <= ALLOWED, changed - ALLOWED
    assert _views(a) == [(28, 28, 3)] * 2 + [(12, 12, 3)] * 6
    assert _views(b) == [(28, 28, 3)] * 2


ALL_CONFIGS = sorted({name for pair in PAIRS.items() for name in pair})


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_one_loss_step_trains_the_whole_backbone(name):
    cfg = _load(name)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    sizes = [s[0] for s in _views(cfg)]
    views = [torch.randn(4, 3, s, s) for s in sizes]
    losses = model.loss(views)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    loss.backward()
    params = list(model.backbone.named_parameters())
    assert params
    missing = [n for n, p in params
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing
