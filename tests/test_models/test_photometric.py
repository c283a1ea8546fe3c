"""Batched photometric ops vs torchvision's per-image ops; parameter draws vs
mmpretrain's per-image ColorJitter and the configured probabilities."""
import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from ssl_plugins.models.data_preprocessors import photometric as P


def _imgs(n=6, side=17, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, side, side, generator=g)


@pytest.mark.parametrize('op,ref,lo,hi', [
    (P.adjust_brightness, TF.adjust_brightness, 0.6, 1.4),
    (P.adjust_contrast, TF.adjust_contrast, 0.6, 1.4),
    (P.adjust_saturation, TF.adjust_saturation, 0.8, 1.2),
    (P.adjust_hue, TF.adjust_hue, -0.1, 0.1),
])
def test_jitter_ops_equal_torchvision_per_image(op, ref, lo, hi):
    x = _imgs()
    f = torch.linspace(lo, hi, x.shape[0])
    out = op(x, f)
    for i in range(x.shape[0]):
        torch.testing.assert_close(out[i], ref(x[i], float(f[i])),
                                   atol=2e-6, rtol=0)


def test_grayscale_blur_solarize_equal_torchvision_per_image():
    x = _imgs(side=24)
    torch.testing.assert_close(P.grayscale(x)[0],
                               TF.rgb_to_grayscale(x[0], 3), atol=1e-6,
                               rtol=0)
    sigma = torch.tensor([0.1, 0.5, 1.0, 1.5, 2.0, 0.7])
    out = P.gaussian_blur(x, sigma, 7)
    for i in range(x.shape[0]):
        torch.testing.assert_close(
            out[i], TF.gaussian_blur(x[i], [7, 7], [float(sigma[i])] * 2),
            atol=1e-6, rtol=0)
    torch.testing.assert_close(P.solarize(x, 0.5), TF.solarize(x, 0.5))


def test_apply_equals_per_image_loop_for_fixed_params():
    """The batched application (per-sample order, subsets) equals applying
    torchvision's ops image by image with the same drawn parameters."""
    x = _imgs(n=64, side=16, seed=1)
    params = P.sample_photometric_params(
        64, jitter_prob=0.7, grayscale_prob=0.3, blur_prob=0.5,
        solarize_prob=0.4, generator=torch.Generator().manual_seed(3))
    out = P.apply_photometric(x, params, kernel_size=5)
    refs = dict(brightness=TF.adjust_brightness, contrast=TF.adjust_contrast,
                saturation=TF.adjust_saturation, hue=TF.adjust_hue)
    keys = list(refs)
    for i in range(64):
        img = x[i]
        if params['jitter'][i]:
            for j in params['order'][i].tolist():
                img = refs[keys[j]](img, float(params[keys[j]][i]))
        if params['grayscale'][i]:
            img = TF.rgb_to_grayscale(img, 3)
        if params['blur'][i]:
            s = float(params['sigma'][i])
            img = TF.gaussian_blur(img, [5, 5], [s, s])
        if params['solarize'][i]:
            img = TF.solarize(img, 0.5)
        torch.testing.assert_close(out[i], img, atol=1e-5, rtol=0)
    # samples that drew nothing come back bit for bit
    none = ~(params['jitter'] | params['grayscale'] | params['blur']
             | params['solarize'])
    assert none.any()
    assert torch.equal(out[none], x[none])


def _reference_colorjitter_draws(n, seed=0):
    """Draws of mmpretrain's per-image ColorJitter (its own sampler)."""
    from mmpretrain.datasets.transforms import ColorJitter
    t = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
    np.random.seed(seed)
    draws = [t._rand_params.__wrapped__(t) if hasattr(
        t._rand_params, '__wrapped__') else t._rand_params() for _ in range(n)]
    order = np.stack([d[0] for d in draws])
    factors = np.array([d[1:] for d in draws], dtype=np.float64)
    return order, factors


def test_parameter_distributions_match_per_image_colorjitter():
    n = 20000
    params = P.sample_photometric_params(
        n, jitter_prob=1.0, generator=torch.Generator().manual_seed(0))
    ref_order, ref = _reference_colorjitter_draws(n)
    ours = torch.stack([params[k] for k in
                        ('brightness', 'contrast', 'saturation', 'hue')],
                       1).double().numpy()
    for j in range(4):
        # same support (ranges) ...
        lo, hi = ref[:, j].min(), ref[:, j].max()
        assert ours[:, j].min() >= lo - 0.01 and ours[:, j].max() <= hi + 0.01
        assert abs(ours[:, j].min() - lo) < 0.01
        assert abs(ours[:, j].max() - hi) < 0.01
        # ... and same (uniform) distribution: deciles agree
        qs = np.linspace(0.1, 0.9, 9)
        width = hi - lo
        assert np.abs(np.quantile(ours[:, j], qs)
                      - np.quantile(ref[:, j], qs)).max() < 0.03 * width
    # order: a uniform random permutation, as np.random.permutation(4)
    ours_order = params['order'].numpy()
    for pos in range(4):
        freq = np.bincount(ours_order[:, pos], minlength=4) / n
        ref_freq = np.bincount(ref_order[:, pos], minlength=4) / n
        assert np.abs(freq - 0.25).max() < 0.015
        assert np.abs(ref_freq - 0.25).max() < 0.015
    assert (np.sort(ours_order, 1) == np.arange(4)).all()


@pytest.mark.parametrize('key,prob', [('jitter', 0.8), ('grayscale', 0.2),
                                      ('blur', 0.1), ('solarize', 0.2)])
def test_apply_probabilities(key, prob):
    n = 20000
    params = P.sample_photometric_params(
        n, jitter_prob=0.8, grayscale_prob=0.2, blur_prob=0.1,
        solarize_prob=0.2, generator=torch.Generator().manual_seed(1))
    freq = params[key].float().mean().item()
    sd = (prob * (1 - prob) / n) ** 0.5
    assert abs(freq - prob) < 5 * sd
    # jitter off -> identity factors
    off = ~params['jitter']
    assert (params['brightness'][off] == 1).all()
    assert (params['hue'][off] == 0).all()
    sig = params['sigma']
    assert sig.min() >= 0.1 and sig.max() <= 2.0


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='hue'):
        P.jitter_range('hue', 0.7)
    with pytest.raises(ValueError, match='kernel_size'):
        P.gaussian_blur(_imgs(), torch.ones(6), 4)
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        P.apply_photometric(torch.rand(2, 1, 4, 4), {}, 3)


def test_masked_strategy_equals_subset_strategy():
    """The sync-free (torch.where) path gives the subset path's values."""
    x = _imgs(n=48, side=16, seed=2)
    params = P.sample_photometric_params(
        48, jitter_prob=0.7, grayscale_prob=0.3, blur_prob=0.5,
        solarize_prob=0.4, generator=torch.Generator().manual_seed(5))
    subset = P.apply_photometric(x, params, 5, masked=False)
    masked = P.apply_photometric(x, params, 5, masked=True)
    torch.testing.assert_close(masked, subset, atol=1e-6, rtol=0)
    assert not torch.equal(subset, x)  # the input is not modified in place
    assert torch.equal(x, _imgs(n=48, side=16, seed=2))
