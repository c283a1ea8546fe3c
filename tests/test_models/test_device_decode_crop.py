"""DeviceDecodeCropPreprocessor: loader reads bytes; decode, crops, flips on
the batch (CPU here; the CUDA test runs where a GPU is)."""
import math
import os.path as osp
import warnings

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate, pseudo_collate
from torchvision.io import ImageReadMode, decode_jpeg
from torchvision.transforms import RandomResizedCrop
from torchvision.transforms import functional as TF

from ssl_plugins.datasets.transforms import (BadImageError, EncodedImage,
                                             LoadImageBytes, PackEncodedImage)
from ssl_plugins.models.data_preprocessors.photometric import solarize
from ssl_plugins.models.data_preprocessors.resized_crop import (
    pack_images, resized_crops, sample_resized_crop_boxes)
from ssl_plugins.registry import MODELS, TRANSFORMS

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
OFF = dict(jitter_prob=0., grayscale_prob=0., blur_prob=0., solarize_prob=0.)
# Tolerance of "equal to the per-image path", in grey levels (0-255): float
# rounding of the sample positions (float32 here, float64 in interpolate).
ATOL = 1e-3

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')


def _image(h, w, seed):
    """Smooth random BGR image (upsampled noise), JPEG-friendly."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, h // 6), max(2, w // 6), 3),
                         dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _write(folder, name, img):
    path = osp.join(str(folder), name)
    assert cv2.imwrite(path, img)
    return path


@pytest.fixture
def jpegs(tmp_path):
    """Three JPEGs of different sizes (landscape, portrait, other)."""
    return [_write(tmp_path, f'img{i}.jpg', _image(h, w, i))
            for i, (h, w) in enumerate([(48, 64), (64, 48), (40, 56)])]


def _collated(paths, collate=default_collate):
    load, pack = LoadImageBytes(), PackEncodedImage()
    return collate([pack(load(dict(img_path=p, sample_idx=i)))
                    for i, p in enumerate(paths)])


def _build(**kwargs):
    cfg = dict(type='DeviceDecodeCropPreprocessor', num_crops=(2, 3),
               crop_sizes=(32, 16), crop_scales=((0.3, 1.), (0.05, 0.3)),
               mean=MEAN, std=STD)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _decoded(path):
    with open(path, 'rb') as f:
        data = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
    return decode_jpeg(data, mode=ImageReadMode.RGB)


def _denorm(x):
    return x * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(
        MEAN).view(1, 3, 1, 1)


def test_loader_keeps_variable_length_bytes_as_a_list(jpegs):
    for collate in (default_collate, pseudo_collate):
        batch = _collated(jpegs, collate)
        assert isinstance(batch['inputs'], list) and len(batch['inputs']) == 3
        assert [d.img_path for d in batch['data_samples']] == jpegs
    batch = _collated(jpegs)
    for enc, path in zip(batch['inputs'], jpegs):
        assert isinstance(enc, EncodedImage) and enc.img_path == path
        with open(path, 'rb') as f:
            assert enc.encoded.dtype == torch.uint8
            assert enc.encoded.numpy().tobytes() == f.read()


@pytest.mark.parametrize('collate', [default_collate, pseudo_collate])
def test_equals_per_image_resized_crop_for_fixed_parameters(jpegs, collate):
    """(a) Fixed boxes and flips: every view equals cropping each decoded
    image with torchvision's resized_crop (bilinear, antialias=False) and
    flipping it, within ATOL grey levels, before normalisation."""
    pre = _build()
    g = torch.Generator().manual_seed(0)
    decoded = [_decoded(p) for p in jpegs]
    hs = torch.tensor([d.shape[1] for d in decoded])
    ws = torch.tensor([d.shape[2] for d in decoded])
    params = []
    for num, scale in zip(pre.num_crops, pre.crop_scales):
        for _ in range(num):
            boxes = sample_resized_crop_boxes(hs, ws, scale, generator=g)
            params.append((boxes, torch.rand(3, generator=g) < 0.5))
    params[0] = (params[0][0], torch.zeros(3, dtype=torch.bool))  # no flip
    params[1] = (params[1][0], torch.ones(3, dtype=torch.bool))
    pre.sample_params = lambda heights, widths: params
    out = pre(_collated(jpegs, collate), training=True)['inputs']
    sizes = [32, 32, 16, 16, 16]
    assert [tuple(v.shape) for v in out] == [(3, 3, s, s) for s in sizes]
    for view, (boxes, flips), size in zip(out, params, sizes):
        for i, img in enumerate(decoded):
            top, left, h, w = boxes[i].tolist()
            ref = TF.resized_crop(img.float(), top, left, h, w, [size, size],
                                  interpolation=TF.InterpolationMode.BILINEAR,
                                  antialias=False)
            if flips[i]:
                ref = ref.flip(-1)
            torch.testing.assert_close(_denorm(view[i:i + 1])[0], ref,
                                       atol=ATOL, rtol=0)


def test_resampling_equals_interpolate_when_upsampling_and_downsampling():
    g = torch.Generator().manual_seed(1)
    images = [torch.randint(0, 256, (3, h, w), generator=g,
                            dtype=torch.uint8) for h, w in [(30, 41), (52, 9)]]
    pixels, offsets, heights, widths = pack_images(images)
    boxes = torch.tensor([[0, 0, 30, 41], [3, 7, 5, 11], [10, 2, 40, 7],
                          [51, 8, 1, 1]])
    index = torch.tensor([0, 0, 1, 1])
    for size in (4, 64):  # shrink and enlarge every box
        out = resized_crops(pixels, offsets, widths, index, boxes, size)
        for m, (top, left, h, w) in enumerate(boxes.tolist()):
            crop = images[index[m]][None, :, top:top + h,
                                    left:left + w].float()
            ref = torch.nn.functional.interpolate(
                crop, size=(size, size), mode='bilinear',
                align_corners=False)[0]
            torch.testing.assert_close(out[m], ref, atol=ATOL, rtol=0)


def test_boxes_follow_scale_and_log_uniform_ratio():
    """(b) Area fractions in the scale range, log aspect ratios in the
    ratio range (up to the rounding of w and h), boxes inside the image,
    and the distribution of torchvision's RandomResizedCrop."""
    n = 20000
    hs = torch.tensor([375, 500]).repeat(n // 2)
    ws = torch.tensor([500, 375]).repeat(n // 2)
    g = torch.Generator().manual_seed(0)
    lr = (math.log(3 / 4), math.log(4 / 3))
    for scale in [(0.08, 1.0), (0.14, 1.0), (0.05, 0.14)]:
        top, left, h, w = sample_resized_crop_boxes(
            hs, ws, scale, generator=g).double().unbind(1)
        assert (top >= 0).all() and (left >= 0).all()
        assert (top + h <= hs).all() and (left + w <= ws).all()
        frac = h * w / (hs * ws).double()
        log_ratio = torch.log(w / h)
        # w, h >= 80 px here: rounding moves area and ratio by < 2 %.
        assert frac.min() >= scale[0] * 0.98 and frac.max() <= scale[1] * 1.02
        assert log_ratio.min() >= lr[0] - 0.02
        assert log_ratio.max() <= lr[1] + 0.02
        assert abs(log_ratio.mean()) < 0.01  # symmetric in log space
        # torchvision's sampler on the same image sizes (fewer draws)
        torch.manual_seed(0)
        rrc = RandomResizedCrop(8, scale=scale)
        ref = []
        for i in range(4000):
            img = torch.empty(1, int(hs[i]), int(ws[i]))
            _, _, rh, rw = rrc.get_params(img, rrc.scale, rrc.ratio)
            ref.append(rh * rw / (img.shape[1] * img.shape[2]))
        ref = torch.tensor(ref, dtype=torch.float64)
        se = math.sqrt(frac.var() / n + ref.var() / len(ref))
        assert abs(frac.mean() - ref.mean()) < 4 * se
        assert abs(frac.std() - ref.std()) < 0.1 * ref.std()
    # no rejection for the small scale: the fraction is uniform on it
    lo, hi = 0.05, 0.14
    assert abs(frac.mean() - (lo + hi) / 2) < 0.002
    assert abs(frac.std() - (hi - lo) / math.sqrt(12)) < 0.002


def test_fallback_is_torchvisions_central_crop():
    for shape in [(10, 1000), (1000, 10)]:
        hs, ws = torch.tensor([shape[0]] * 5), torch.tensor([shape[1]] * 5)
        boxes = sample_resized_crop_boxes(hs, ws, (0.9, 1.0))
        torch.manual_seed(0)
        ref = RandomResizedCrop.get_params(torch.empty(1, *shape), (0.9, 1.0),
                                           (3 / 4, 4 / 3))
        assert boxes.tolist() == [list(ref)] * 5


def test_views_of_each_group_use_their_scale_and_flip_half():
    pre = _build(num_crops=(2, 6), crop_sizes=(32, 16),
                 crop_scales=((0.5, 1.), (0.05, 0.1)))
    torch.manual_seed(0)
    n = 2000
    hs, ws = torch.full((n, ), 375), torch.full((n, ), 500)
    params = pre.sample_params(hs, ws)
    assert len(params) == 8
    for v, (boxes, flips) in enumerate(params):
        lo, hi = (0.5, 1.) if v < 2 else (0.05, 0.1)
        frac = (boxes[:, 2] * boxes[:, 3]).double() / (375 * 500)
        assert frac.min() >= lo * 0.98 and frac.max() <= hi * 1.02
        assert abs(flips.double().mean() - 0.5) < 0.05
    # views are drawn independently
    assert not torch.equal(params[0][0], params[1][0])


def test_output_structure_matches_the_configured_views(jpegs):
    """(d) A list of (N, 3, S, S) float views, group after group, with the
    photometric groups applied in training and channels_last on request."""
    pre = _build(num_crops=(2, 6), crop_sizes=(24, 12),
                 crop_scales=((0.14, 1.), (0.05, 0.14)), channels_last=True,
                 view_augments=[dict(num_views=2, blur_prob=1.0),
                                dict(num_views=6, solarize_prob=0.5)])
    batch = _collated(jpegs)
    for training in (True, False):
        out = pre(batch, training=training)
        views = out['inputs']
        assert isinstance(views, list) and len(views) == 8
        assert [tuple(v.shape) for v in views] == (
            [(3, 3, 24, 24)] * 2 + [(3, 3, 12, 12)] * 6)
        assert all(v.dtype == torch.float32 and torch.isfinite(v).all()
                   and v.is_contiguous(memory_format=torch.channels_last)
                   for v in views)
        assert [d.img_path for d in out['data_samples']] == jpegs
    with pytest.raises(ValueError, match='make 8'):
        _build(num_crops=(2, 6), crop_sizes=(24, 12),
               crop_scales=((0.14, 1.), (0.05, 0.14)),
               view_augments=[dict(num_views=2)])
    with pytest.raises(ValueError, match='one entry per group'):
        _build(num_crops=(2, 6), crop_sizes=(24, ),
               crop_scales=((0.14, 1.), (0.05, 0.14)))


def test_training_applies_the_photometric_groups(jpegs):
    """Same crops, solarize on the second group only, in training only."""
    pre = _build(num_crops=(1, 1), crop_sizes=(16, 16),
                 crop_scales=((0.5, 1.), (0.5, 1.)),
                 view_augments=[dict(num_views=1, **OFF),
                                dict(num_views=1, **dict(OFF,
                                                         solarize_prob=1.))])
    fixed = pre.sample_params(torch.tensor([48, 64, 40]),
                              torch.tensor([64, 48, 56]))
    fixed[1] = fixed[0]  # both views: the same crop
    pre.sample_params = lambda heights, widths: fixed
    batch = _collated(jpegs)
    a, b = [_denorm(v) for v in pre(batch, training=True)['inputs']]
    expected = solarize(a / 255, 128 / 255) * 255
    torch.testing.assert_close(b, expected, atol=1e-3, rtol=0)
    a, b = pre(batch, training=False)['inputs']
    torch.testing.assert_close(a, b)


def test_decoded_batches_go_through_batched_augment():
    pre = _build(view_augments=[dict(num_views=5, **OFF)], to_rgb=True)
    ref = MODELS.build(dict(type='mmpretrain.SelfSupDataPreprocessor',
                            mean=MEAN, std=STD, to_rgb=True))
    g = torch.Generator().manual_seed(0)
    data = dict(inputs=[torch.randint(0, 256, (2, 3, 8, 8), generator=g,
                                      dtype=torch.uint8) for _ in range(5)],
                data_samples=None)
    for a, b in zip(pre(data, True)['inputs'], ref(data, True)['inputs']):
        torch.testing.assert_close(a, b)


def test_corrupt_jpeg_raises_an_error_naming_the_file(jpegs, tmp_path):
    """(c) One bad file in a batch: the batched decode fails, the per-file
    retry names it."""
    data = bytearray(open(jpegs[0], 'rb').read())
    rng = np.random.default_rng(0)
    data[200:500] = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
    bad = osp.join(str(tmp_path), 'broken_0042.jpg')
    with open(bad, 'wb') as f:
        f.write(bytes(data))
    truncated = osp.join(str(tmp_path), 'half_0007.jpg')
    with open(truncated, 'wb') as f:
        f.write(open(jpegs[1], 'rb').read()[:300])
    pre = _build()
    for path in (bad, truncated):
        batch = _collated(jpegs[1:] + [path])  # loads: the header is fine
        with pytest.raises(BadImageError, match=osp.basename(path)) as info:
            pre(batch, training=True)
        assert info.value.path == path
        assert info.value.reason in ('corrupt', 'truncated')
    # pseudo_collate: plain byte tensors, the path from the data samples
    batch = _collated([jpegs[0], bad], pseudo_collate)
    with pytest.raises(BadImageError, match='broken_0042'):
        pre(batch, training=True)


def test_loader_refuses_empty_and_non_image_files(tmp_path):
    empty, text = tmp_path / 'empty.jpg', tmp_path / 'notes.jpg'
    empty.write_bytes(b'')
    text.write_bytes(b'<html>not an image</html>')
    load = TRANSFORMS.build(dict(type='LoadImageBytes'))
    for path, reason in ((empty, 'empty'), (text, 'not an image')):
        with pytest.raises(BadImageError, match=path.name) as info:
            load(dict(img_path=str(path)))
        assert info.value.reason == reason
    assert TRANSFORMS.build(dict(type='LoadImageBytes', ignore_empty=True))(
        dict(img_path=str(empty))) is None
    with pytest.raises(BadImageError, match='unreadable'):
        load(dict(img_path=str(tmp_path / 'missing.jpg')))


def test_png_falls_back_to_the_cpu_decoder_losslessly(jpegs, tmp_path):
    img = _image(30, 20, 5)
    png = _write(tmp_path, 'img.png', img)
    pre = _build(num_crops=(1, ), crop_sizes=(10, ), crop_scales=((1., 1.), ),
                 ratio=(2 / 3, 2 / 3), flip_prob=0.)
    out = pre(_collated([jpegs[0], png]), training=True)['inputs'][0]
    rgb = torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1).float()
    ref = TF.resize(rgb, [10, 10], antialias=False)  # whole 20x30 image
    torch.testing.assert_close(_denorm(out)[1], ref, atol=ATOL, rtol=0)


def test_byol_trains_a_step_on_encoded_files(jpegs):
    from mmengine.optim import OptimWrapper
    model = MODELS.build(dict(
        type='BYOL',
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18,
                      stem_channels=8, base_channels=8, strides=(2, 2, 2, 2),
                      norm_cfg=dict(type='BN')),
        data_preprocessor=dict(
            type='DeviceDecodeCropPreprocessor', num_crops=(2, ),
            crop_sizes=(16, ), crop_scales=((0.08, 1.), ), mean=MEAN,
            std=STD, view_augments=[dict(num_views=1, blur_prob=1.0),
                                    dict(num_views=1, blur_prob=0.1,
                                         solarize_prob=0.2)]),
        neck=dict(type='MLPNeck', in_channels=64, hid_channels=32,
                  out_channels=16),
        head=dict(type='LatentPredictHead',
                  predictor=dict(type='MLPNeck', in_channels=16,
                                 hid_channels=32, out_channels=16,
                                 with_avg_pool=False),
                  loss=dict(type='BYOLLoss'))))
    model.init_weights()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(_collated(jpegs * 2), wrapper)
    assert 0 <= float(log['loss']) <= 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_decode_and_crops_match_the_cpu_path(jpegs):
    """nvJPEG vs libjpeg-turbo differ by a few grey levels at most; the
    crop boxes are the same, so the views agree closely."""
    pre = _build()
    fixed = pre.sample_params(torch.tensor([48, 64, 40]),
                              torch.tensor([64, 48, 56]))
    pre.sample_params = lambda heights, widths: fixed
    batch = _collated(jpegs)
    cpu = pre(batch, training=False)['inputs']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        gpu = pre.cuda()(batch, training=False)['inputs']
    for a, b in zip(cpu, gpu):
        assert b.is_cuda
        diff = (_denorm(a) - _denorm(b.cpu())).abs()
        assert diff.mean() < 1.0 and diff.max() < 16
