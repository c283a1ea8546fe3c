"""The ssl_plugins scope resolves ours first and falls back to mmpretrain."""
import mmpretrain.models as mmp_models
import pytest
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

from ssl_plugins.models.algorithms import BYOL
from ssl_plugins.registry import (DATASETS, HOOKS, MODELS, OPTIMIZERS,
                                  TRANSFORMS)

BYOL_CFG = dict(
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8),
    neck=dict(type='MLPNeck', in_channels=64, hid_channels=32,
              out_channels=16),
    head=dict(type='LatentPredictHead',
              predictor=dict(type='MLPNeck', in_channels=16, hid_channels=32,
                             out_channels=16, with_avg_pool=False),
              loss=dict(type='BYOLLoss')))


def test_registries_are_children_of_mmpretrain():
    import mmpretrain.registry as mmp
    for ours, theirs in ((MODELS, mmp.MODELS), (HOOKS, mmp.HOOKS),
                         (DATASETS, mmp.DATASETS),
                         (TRANSFORMS, mmp.TRANSFORMS),
                         (OPTIMIZERS, mmp.OPTIMIZERS)):
        assert ours.scope == 'ssl_plugins'
        assert ours.parent is theirs


def test_scope_resolution_both_ways():
    with DefaultScope.overwrite_default_scope('ssl_plugins'):
        ours = ROOT_MODELS.build(dict(type='BYOL', **BYOL_CFG))
        assert type(ours) is BYOL
        # mmpretrain's classes still resolve from our scope
        assert type(ours.backbone).__name__ == 'ResNet_CIFAR'
        assert MODELS.get('ResNet') is mmp_models.ResNet
        assert OPTIMIZERS.get('LARS').__module__.startswith('mmpretrain')
        assert DATASETS.get('CustomDataset').__module__.startswith(
            'mmpretrain')
        # the explicit prefix reaches mmpretrain's own BYOL
        assert MODELS.get('mmpretrain.BYOL') is mmp_models.BYOL
        assert MODELS.get('BYOL') is BYOL


def test_unknown_type_names_the_key():
    with pytest.raises(KeyError, match='NoSuchNeck'):
        MODELS.build(dict(type='NoSuchNeck'))
