"""MultiCrop, the numpy-2 hue fix, and unlabelled image folders."""
import mmcv
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

from ssl_plugins.datasets.transforms import MultiCrop, random_resized_crop_box
from ssl_plugins.registry import DATASETS, TRANSFORMS


def test_multicrop_groups_sizes_and_order():
    t = MultiCrop(num_crops=(2, 3), crop_sizes=(32, 16),
                  crop_scales=((0.5, 1.), (0.1, 0.5)))
    out = t(dict(img=np.random.randint(0, 255, (40, 50, 3), np.uint8)))
    shapes = [v.shape for v in out['img']]
    assert shapes == [(32, 32, 3)] * 2 + [(16, 16, 3)] * 3


def test_multicrop_per_group_pipelines_apply():
    t = MultiCrop(num_crops=(1, 1), crop_sizes=(8, 8),
                  crop_scales=((1., 1.), (1., 1.)), flip_prob=0.,
                  transforms=[[], [dict(type='Solarize', thr=0, prob=1.)]])
    img = np.full((8, 8, 3), 10, np.uint8)
    a, b = t(dict(img=img))['img']
    assert (a == 10).all() and (b == 245).all()


def test_multicrop_config_errors_are_named():
    with pytest.raises(ValueError, match='crop_sizes has 1'):
        MultiCrop(num_crops=(2, 6), crop_sizes=(224, ),
                  crop_scales=((0.14, 1), (0.05, 0.14)))
    with pytest.raises(ValueError, match='crop scale'):
        MultiCrop(num_crops=(1, ), crop_sizes=(8, ), crop_scales=((0.5, 2), ))


def test_crop_box_area_follows_scale():
    np.random.seed(0)
    fracs = []
    for _ in range(2000):
        _, _, h, w = random_resized_crop_box(100, 100, (0.2, 0.6),
                                             (3 / 4, 4 / 3))
        fracs.append(h * w / 1e4)
    fracs = np.array(fracs)
    assert fracs.min() > 0.18 and fracs.max() < 0.62
    assert abs(fracs.mean() - 0.4) < 0.02  # uniform in the scale range


def test_hue_jitter_survives_numpy2():
    # mmcv 2.2 raised OverflowError for negative hue factors on numpy 2
    img = np.random.randint(0, 255, (16, 16, 3), np.uint8)
    for factor in (-0.5, -0.1, 0.0, 0.1, 0.5):
        for backend in ('cv2', 'pillow'):
            out = mmcv.adjust_hue(img, factor, backend=backend)
            assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(mmcv.adjust_hue(img, 0.0), img)
    # a half turn maps pure red to cyan-ish (blue and green up, red down)
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 2] = 255  # BGR
    cyan = mmcv.adjust_hue(red, 0.5, backend='cv2')[0, 0].astype(int)
    assert cyan[2] < 10 and cyan[0] > 200 and cyan[1] > 200
    jitter = TRANSFORMS.build(dict(type='ColorJitter', hue=0.5))
    for _ in range(20):
        jitter(dict(img=img.copy()))


def test_unlabelled_image_folder(tmp_path):
    import cv2
    root = tmp_path / 'my_images'
    for sub in ('a', 'b'):
        (root / sub).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(root / sub / f'{i}.png'),
                        np.random.randint(0, 255, (20, 24, 3), np.uint8))
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='MultiCrop', num_crops=(1, 1), crop_sizes=(16, 16),
             crop_scales=((0.2, 1.), (0.2, 1.))),
        dict(type='PackInputs'),
    ]
    ds = DATASETS.build(dict(type='CustomDataset', data_root=str(root),
                             with_label=False, pipeline=pipeline))
    assert len(ds) == 6
    batch = default_collate([ds[i] for i in range(4)])
    assert [v.shape for v in batch['inputs']] == [
        torch.Size([4, 3, 16, 16])] * 2
