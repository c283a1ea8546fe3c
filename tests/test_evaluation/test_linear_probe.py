"""Linear probe on cached features, raw-pixel features, and knn_eval's
--linear / --raw-pixels / --val options."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from ssl_plugins.evaluation import linear_probe, pixel_features
from ssl_plugins.evaluation.linear_probe import (fit_logistic_regression,
                                                 standardize)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FMNIST_BYOL = osp.join(
    ROOT, 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def blobs(n=300, d=6, classes=3, seed=0, noise=1.5):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, d, generator=g) * 2
    y = torch.arange(n) % classes
    return centres[y] + noise * torch.randn(n, d, generator=g), y


def test_fit_is_the_minimiser_of_the_stated_objective():
    """At the returned (W, b) the gradient of mean CE + wd/2 ||W||^2 (bias
    not penalised), written out here in float64, vanishes; a shifted
    solution is worse."""
    x, y = blobs()
    wd = 1e-2
    w, b = fit_logistic_regression(x, y, wd, max_iter=500, tolerance=1e-9)

    def objective(w, b):
        logits = x.double() @ w.T + b
        ce = (logits.logsumexp(1) - logits.gather(1, y.view(-1, 1))[:, 0])
        return ce.mean() + 0.5 * wd * (w ** 2).sum()

    w64 = w.double().requires_grad_()
    b64 = b.double().requires_grad_()
    value = objective(w64, b64)
    gw, gb = torch.autograd.grad(value, (w64, b64))
    # The fit runs in float32: its gradient stops near 1e-4, a floor that
    # moves with the CPU's summation order (1.1e-4 on an Intel Xeon with
    # AMX, under 1e-4 on an AMD EPYC). A wrong objective sits far above it:
    # wd instead of wd / 2 leaves 1e-2 here.
    assert gw.abs().max() < 1e-3 and gb.abs().max() < 1e-3
    with torch.no_grad():
        assert objective(w64 * 1.05, b64) > value
        assert objective(w64, b64 + torch.tensor([0.1, 0., 0.],
                                                 dtype=torch.float64)) > value


def test_weight_decay_is_chosen_on_train_data_only():
    x, y = blobs(n=600, d=20, noise=3.0)
    x, y, xt, yt = x[:400], y[:400], x[400:], y[400:]
    res = linear_probe(x, y, xt, yt, weight_decays=(1e-4, 1e-1, 10.0))
    best = max(res['val_top1'], key=res['val_top1'].get)
    assert res['weight_decay'] == best
    assert len(res['val_top1']) == 3
    # other test labels: the choice stays, only the test accuracy moves
    shuffled = linear_probe(x, y, xt, yt[torch.randperm(200)],
                            weight_decays=(1e-4, 1e-1, 10.0))
    assert shuffled['weight_decay'] == res['weight_decay']
    assert shuffled['val_top1'] == res['val_top1']
    # a huge decay is never the choice on separable-ish blobs
    assert res['weight_decay'] != 10.0
    assert res['top1'] > 80


def test_standardised_so_feature_scale_does_not_matter():
    x, y = blobs(n=450, d=8)
    x, y, xt, yt = x[:300], y[:300], x[300:], y[300:]
    scale = torch.logspace(-3, 3, 8)
    a = linear_probe(x, y, xt, yt, weight_decays=(1e-3, ))
    b = linear_probe(x * scale, y, xt * scale, yt, weight_decays=(1e-3, ))
    assert abs(a['top1'] - b['top1']) < 1e-6
    s_train, s_test = standardize(x * scale, xt * scale)
    torch.testing.assert_close(s_train.mean(0), torch.zeros(8), atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(s_train.std(0), torch.ones(8))
    assert s_test.shape == xt.shape


def test_bad_arguments_are_named():
    x, y = blobs()
    with pytest.raises(ValueError, match='weight_decays is empty'):
        linear_probe(x, y, x, y, weight_decays=())
    with pytest.raises(ValueError, match='val_fraction'):
        linear_probe(x, y, x, y, val_fraction=1.0)
    with pytest.raises(ValueError, match='dim 6, test 3'):
        linear_probe(x, y, x[:, :3], y)


def test_pixel_features_keep_one_channel_of_grey_images(fake_fmnist):
    from ssl_plugins.datasets.fashion_mnist import read_idx
    from ssl_plugins.registry import DATASETS
    ds = DATASETS.build(dict(type='ssl_plugins.FashionMNIST',
                             data_root=fake_fmnist, split='test',
                             pipeline=[dict(type='PackInputs')]))
    feats, labels = pixel_features(ds, batch_size=10)
    images = read_idx(osp.join(fake_fmnist, 't10k-images-idx3-ubyte.gz'),
                      2051)
    assert feats.shape == (len(images), 28 * 28)
    torch.testing.assert_close(
        feats, torch.tensor(images.reshape(len(images), -1) / 255.,
                            dtype=torch.float32))
    assert labels.tolist() == ds.get_gt_labels().tolist()


def _tool():
    spec = importlib.util.spec_from_file_location(
        'knn_eval', osp.join(ROOT, 'tools/knn_eval.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _opts(root):
    return ['--cfg-options', f'knn_eval.train.data_root={root}',
            f'knn_eval.test.data_root={root}']


def test_knn_eval_linear_raw_pixels_and_val(tmp_path, fake_fmnist, capsys):
    from ssl_plugins.evaluation.knn import knn_accuracy
    from ssl_plugins.registry import DATASETS
    tool = _tool()
    out = str(tmp_path / 'res.json')
    rows = tool.main([FMNIST_BYOL, '--random-init', '--raw-pixels',
                      '--linear', '--k', '5', '--val', '16', '--out', out]
                     + _opts(fake_fmnist))
    names = [name for name, _ in rows]
    assert names[0] == 'raw pixels' and len(rows) == 3
    # --val: bank = the first 48 train images, queries = the last 16
    cfg = Config.fromfile(FMNIST_BYOL).knn_eval.train
    cfg.data_root = fake_fmnist
    cfg.type = 'ssl_plugins.FashionMNIST'
    ds = DATASETS.build(cfg)
    feats, labels = pixel_features(ds)
    ref = knn_accuracy(feats[:48], labels[:48], feats[48:], labels[48:],
                       k=5)['top1']
    assert rows[0][1][5]['top1'] == pytest.approx(ref)
    ref_linear = linear_probe(feats[:48], labels[:48], feats[48:],
                              labels[48:])['top1']
    assert rows[0][1]['linear'] == pytest.approx(ref_linear)
    printed = capsys.readouterr().out
    assert 'last 16 train images (validation' in printed
    # the progress lines name the backbone and the part of the train split
    assert ('random init: features of the train split without its last 16 '
            'images (48 images)') in printed
    assert ('random init: features of the last 16 train images (validation) '
            '(16 images)') in printed
    assert 'linear top1' in printed
    with open(out) as f:
        saved = json.load(f)
    assert saved['rows'][0]['linear_top1'] == pytest.approx(ref_linear)


def test_knn_eval_refuses_impossible_values_and_names_effective_k(
        fake_fmnist, capsys):
    tool = _tool()
    for bad in (['--k', '0'], ['--temperature', '0']):
        with pytest.raises(SystemExit, match='--k must be >= 1'):
            tool.main([FMNIST_BYOL, '--raw-pixels', *bad]
                      + _opts(fake_fmnist))
    with pytest.raises(SystemExit, match='--val 64'):
        tool.main([FMNIST_BYOL, '--raw-pixels', '--val', '64']
                  + _opts(fake_fmnist))
    tool.main([FMNIST_BYOL, '--raw-pixels', '--k', '200']
              + _opts(fake_fmnist))
    printed = capsys.readouterr().out
    assert 'effective k [64]' in printed
    # the column is named by the k it holds, not the k asked for
    assert 'k=64 top1' in printed and 'k=200' not in printed


def test_comparison_with_raw_pixels_says_which_probe_is_below():
    tool = _tool()
    raw = {20: {'top1': 84.6}, 'linear': 84.4}
    good = {20: {'top1': 85.0}, 'linear': 84.5}
    half = {20: {'top1': 85.0}, 'linear': 84.0}
    text = tool.compare_with_raw_pixels(
        [('raw pixels', raw), ('online', good), ('target', half)], 20, True)
    first, second = text.splitlines()
    assert first.startswith('online: kNN k=20 +0.40, linear +0.10')
    assert first.endswith('beats raw pixels in both probes.')
    assert second.endswith('does NOT beat raw pixels in linear.')
