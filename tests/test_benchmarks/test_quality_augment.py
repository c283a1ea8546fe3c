"""benchmarks/quality_lib/augment.py (``--aug batched``): our per-image
photometric augmentations moved to the batch give the shipped
``_batched-aug`` config; mmpretrain's runs keep the per-image pipeline."""
import pytest
from mmengine.config import Config

from benchmarks.quality_lib.augment import photometric_kwargs
from benchmarks.quality_lib.configs import build_cfg
from benchmarks.quality_lib.translate import mmpretrain_model
from quality_helpers import BYOL_BATCHED, quality_args


def test_batched_aug_is_the_shipped_batched_config(fake_fmnist, tmp_path):
    """``--aug batched`` (default) turns our per-image BYOL config into what
    the hand-written ``_batched-aug`` config says: same crops, same draws
    per view; mmpretrain's runs keep the per-image pipeline."""
    from ssl_plugins.registry import MODELS
    ours = build_cfg('byol', 'ours', 10, str(tmp_path),
                     quality_args(fake_fmnist))
    shipped = Config.fromfile(BYOL_BATCHED)
    assert (ours.train_dataloader.dataset.pipeline
            == shipped.train_dataloader.dataset.pipeline)
    a, b = (MODELS.build(c.model.data_preprocessor) for c in (ours, shipped))
    assert a.num_views == b.num_views == [1, 1]
    for x, y in zip(a.augments, b.augments):
        assert x.sample_cfg == y.sample_cfg
        assert x.solarize_threshold == pytest.approx(y.solarize_threshold)

    theirs = build_cfg('byol', 'mmpretrain', 10, str(tmp_path),
                       quality_args(fake_fmnist))
    assert theirs.model.data_preprocessor.type == (
        'mmpretrain.SelfSupDataPreprocessor')
    assert theirs.train_dataloader.dataset.pipeline[0]['transforms'][1][
        -1] == dict(type='Solarize', thr=128, prob=0.2)
    per_image = build_cfg('byol', 'ours', 10, str(tmp_path),
                          quality_args(fake_fmnist, '--aug', 'per-image'))
    assert per_image.model.data_preprocessor.type == 'SelfSupDataPreprocessor'


@pytest.mark.parametrize('method,views', [('simsiam', [2]),
                                          ('swav', [2, 6]),
                                          ('dino', [1, 1, 6])])
def test_batched_aug_of_each_config(fake_fmnist, tmp_path, method, views):
    ours = build_cfg(method, 'ours', 10, str(tmp_path),
                     quality_args(fake_fmnist))
    augs = ours.model.data_preprocessor.view_augments
    assert [a['num_views'] for a in augs] == views
    crop = ours.train_dataloader.dataset.pipeline[0]
    assert crop['transforms'] == [[] for _ in views]
    assert [(a['jitter_prob'], a['grayscale_prob'], a['blur_prob'])
            for a in augs] == [(0.8, 0.2, 0.0)] * len(views)
    if method == 'dino':  # solarize on the second global crop only
        assert [a['solarize_prob'] for a in augs] == [0.0, 0.2, 0.0]


def test_batched_aug_refuses_what_it_cannot_convert():
    with pytest.raises(
            NotImplementedError,
            match=r"transforms\[1\]: no batched twin.*GaussianBlur"):
        photometric_kwargs([dict(type='GaussianBlur', prob=0.5,
                                 magnitude_range=(0.1, 2.0))],
                           'MultiCrop transforms[1]')
    cfg = Config.fromfile(BYOL_BATCHED)
    with pytest.raises(ValueError, match='per-image pipeline'):
        mmpretrain_model(cfg)
