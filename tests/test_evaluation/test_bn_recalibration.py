"""``recalibrate_bn``: BN statistics of a data set, weights unchanged."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import default_collate

from ssl_plugins.evaluation import recalibrate_bn
from ssl_plugins.evaluation.feature_extraction import first_view
from ssl_plugins.registry import DATASETS, MODELS

FMNIST_BYOL = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', 'byol',
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def test_recalibrated_bn_holds_the_statistics_of_the_data(fake_fmnist):
    """``recalibrate_bn``: the stem BN's running mean / variance become the
    per-channel mean and variance of its input over all images (a
    cumulative average over equal batches, not mmengine's exponential one,
    which would keep 0.9 of the initial values after one batch)."""
    cfg = Config.fromfile(FMNIST_BYOL)
    dataset = DATASETS.build(dict(cfg.knn_eval.train, data_root=fake_fmnist,
                                  indices=64))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    weights = {k: v.clone() for k, v in model.backbone.named_parameters()}
    recalibrate_bn(model.backbone, model.data_preprocessor, dataset,
                   batch_size=32)  # 2 batches
    for k, v in model.backbone.named_parameters():
        assert torch.equal(v, weights[k]), k
    with torch.no_grad():
        batch = default_collate([dataset[i] for i in range(64)])
        x = first_view(
            model.data_preprocessor(batch, training=False)['inputs'])
        stem = model.backbone.conv1(x).transpose(0, 1).flatten(1)
    bn = model.backbone.norm1
    torch.testing.assert_close(bn.running_mean, stem.mean(1), rtol=1e-4,
                               atol=1e-5)
    # the two batches' variances averaged: close to the pooled variance
    torch.testing.assert_close(bn.running_var, stem.var(1), rtol=0.1,
                               atol=1e-4)
