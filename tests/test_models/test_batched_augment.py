"""BatchedAugmentDataPreprocessor: per-group batched augmentation +
normalisation."""
import pytest
import torch

from ssl_plugins.models.data_preprocessors.photometric import solarize
from ssl_plugins.registry import MODELS

MEAN, STD = [10., 20., 30.], [2., 3., 4.]
OFF = dict(jitter_prob=0., grayscale_prob=0., blur_prob=0., solarize_prob=0.)


def _batch(views=2, n=4, side=8):
    g = torch.Generator().manual_seed(0)
    return dict(inputs=[torch.randint(0, 256, (n, 3, side, side),
                                      generator=g, dtype=torch.uint8)
                        for _ in range(views)], data_samples=None)


def _norm(x):
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(
        STD).view(1, 3, 1, 1)


def test_groups_get_their_own_augmentation_then_normalisation():
    pre = MODELS.build(dict(
        type='BatchedAugmentDataPreprocessor', mean=MEAN, std=STD,
        view_augments=[dict(num_views=1, **OFF),
                       dict(num_views=2, **dict(OFF, solarize_prob=1.0))]))
    data = _batch(views=3)
    out = pre(data, training=True)['inputs']
    raw = [v.float() for v in data['inputs']]
    torch.testing.assert_close(out[0], _norm(raw[0]))
    for i in (1, 2):
        expected = _norm(solarize(raw[i] / 255, 128 / 255) * 255)
        torch.testing.assert_close(out[i], expected)
    # eval mode: no augmentation at all
    out = pre(data, training=False)['inputs']
    for i in range(3):
        torch.testing.assert_close(out[i], _norm(raw[i]))


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_augments_run_in_fp32_inside_the_optim_wrappers_autocast(dtype):
    """mmengine's train_step runs the data preprocessor inside
    ``optim_wrapper.optim_context`` (bf16 / fp16 autocast): every
    augmentation, the blur's convolution too, still gives the fp32 result
    of a run without autocast."""
    pre = MODELS.build(dict(
        type='BatchedAugmentDataPreprocessor', mean=MEAN, std=STD,
        view_augments=[dict(num_views=2, jitter_prob=1.0, grayscale_prob=0.5,
                            blur_prob=1.0, solarize_prob=0.5)]))
    data = _batch(side=16)
    torch.manual_seed(0)
    expected = pre(data, training=True)['inputs']
    torch.manual_seed(0)
    with torch.autocast('cpu', dtype=dtype):
        out = pre(data, training=True)['inputs']
    for a, b in zip(out, expected):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b)


def test_without_augments_equals_selfsup_preprocessor():
    ours = MODELS.build(dict(type='BatchedAugmentDataPreprocessor',
                             mean=MEAN, std=STD, to_rgb=True))
    ref = MODELS.build(dict(type='mmpretrain.SelfSupDataPreprocessor',
                            mean=MEAN, std=STD, to_rgb=True))
    data = _batch()
    for a, b in zip(ours(data, True)['inputs'], ref(data, True)['inputs']):
        torch.testing.assert_close(a, b)


def test_channels_last_and_view_count_errors():
    pre = MODELS.build(dict(type='BatchedAugmentDataPreprocessor', mean=MEAN,
                            std=STD, channels_last=True,
                            view_augments=[dict(num_views=2)]))
    out = pre(_batch(), True)['inputs']
    assert [v.is_contiguous(memory_format=torch.channels_last)
            for v in out] == [True, True]
    with pytest.raises(ValueError, match='describe 2 views'):
        pre(_batch(views=3), True)
    with pytest.raises(ValueError, match='solarize_prob'):
        MODELS.build(dict(type='BatchedAugmentDataPreprocessor',
                          view_augments=[dict(solarize_prob=2.0)]))


def test_byol_trains_with_batched_augmentation():
    from mmengine.optim import OptimWrapper
    backbone = dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                    stem_channels=8, base_channels=8, strides=(2, 2, 2, 2),
                    norm_cfg=dict(type='BN'))
    model = MODELS.build(dict(
        type='BYOL', backbone=backbone,
        data_preprocessor=dict(
            type='BatchedAugmentDataPreprocessor', mean=MEAN, std=STD,
            view_augments=[dict(blur_prob=1.0, solarize_prob=0.0),
                           dict(blur_prob=0.1, solarize_prob=0.2)]),
        neck=dict(type='MLPNeck', in_channels=64, hid_channels=32,
                  out_channels=16),
        head=dict(type='LatentPredictHead',
                  predictor=dict(type='MLPNeck', in_channels=16,
                                 hid_channels=32, out_channels=16,
                                 with_avg_pool=False),
                  loss=dict(type='BYOLLoss'))))
    model.init_weights()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(_batch(n=8, side=16), wrapper)
    assert 0 <= float(log['loss']) <= 4


def test_unknown_augment_key_is_named():
    with pytest.raises(TypeError, match='blurr_prob'):
        MODELS.build(dict(type='BatchedAugmentDataPreprocessor',
                          view_augments=[dict(blurr_prob=0.5)]))


def test_batched_aug_config_builds_and_trains_a_step(fake_fmnist):
    import os.path as osp

    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.optim import OptimWrapper

    from helpers import REPO
    from ssl_plugins.registry import DATASETS
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/byol/byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_'
        'fashion-mnist_batched-aug.py'))
    pre = cfg.model.data_preprocessor
    assert pre.type == 'BatchedAugmentDataPreprocessor'
    assert [v.solarize_prob for v in pre.view_augments] == [0.0, 0.2]
    cfg.train_dataloader.dataset.data_root = fake_fmnist
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = default_collate([dataset[i] for i in range(8)])
    model = MODELS.build(cfg.model)
    model.init_weights()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log = model.train_step(batch, wrapper)
    assert 0 <= float(log['loss']) <= 4
