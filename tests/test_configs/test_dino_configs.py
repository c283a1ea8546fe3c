"""DINO ImageNet configs: they build, their multi-crop pipeline gives the
paper's views, the blur radius is drawn per image, one step runs."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import ImageFilter

from helpers import REPO
from ssl_plugins.registry import MODELS, TRANSFORMS

VIT = osp.join(REPO, 'configs/dino/'
               'dino_vit-small-p16_8xb64-coslr-100e_in1k.py')
RN50 = osp.join(REPO, 'configs/dino/dino_resnet50_8xb64-coslr-100e_in1k.py')


def _multicrop(path):
    cfg = Config.fromfile(path)
    step = cfg.train_dataloader.dataset.pipeline[1]
    assert step.type == 'MultiCrop'
    return TRANSFORMS.build(step), step


@pytest.mark.parametrize('path,n_local,scales', [
    (VIT, 10, ((0.4, 1.), (0.4, 1.), (0.05, 0.4))),
    (RN50, 8, ((0.14, 1.), (0.14, 1.), (0.05, 0.14))),
])
def test_multicrop_views(path, n_local, scales):
    crop, step = _multicrop(path)
    assert tuple(map(tuple, step.crop_scales)) == scales
    probs = [[(t['type'], t['prob']) for t in group
              if t['type'] in ('GaussianBlur', 'Solarize')]
             for group in step.transforms]
    assert probs == [[('GaussianBlur', 1.0)],
                     [('GaussianBlur', 0.1), ('Solarize', 0.2)],
                     [('GaussianBlur', 0.5)]]
    img = np.random.default_rng(0).integers(0,
                                            256, (300, 260, 3),
                                            dtype=np.uint8)
    views = crop.transform(dict(img=img))['img']
    assert [v.shape
            for v in views] == [(224, 224, 3)] * 2 + [(96, 96, 3)] * n_local


def test_blur_radius_is_drawn_per_image(monkeypatch):
    crop, _ = _multicrop(VIT)
    blur = [t for t in crop.pipelines[0] if type(t).__name__ == 'GaussianBlur']
    assert len(blur) == 1 and blur[0].prob == 1.0
    radii = []
    original = ImageFilter.GaussianBlur

    def spy(radius=2):
        radii.append(radius)
        return original(radius)

    monkeypatch.setattr(ImageFilter, 'GaussianBlur', spy)
    img = np.full((16, 16, 3), 128, dtype=np.uint8)
    for _ in range(200):
        blur[0].transform(dict(img=img))
    assert len(radii) == 200 and len(set(radii)) == 200
    assert 0.1 <= min(radii) < 0.2 and 1.9 < max(radii) <= 2.0


@pytest.mark.parametrize('path', [VIT, RN50])
def test_model_builds_and_runs_one_loss(path):
    cfg = Config.fromfile(path)
    if path == RN50:
        cfg.model.backbone.norm_cfg = dict(type='BN')  # SyncBN needs GPUs
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(0)
    n_local = 10 if path == VIT else 8
    views = ([torch.randn(2, 3, 224, 224) for _ in range(2)] +
             [torch.randn(2, 3, 96, 96) for _ in range(n_local)])
    loss = model.loss(views)['loss']
    # near ln(65536) = 11.09 at initialisation
    assert abs(loss.item() - np.log(65536)) < 1.0
    assert model.head.loss_module.center.shape == (1, 65536)
