"""One answer to "which backbone": the live model's and the state dict's
agree for every algorithm and every source."""
import pytest
import torch
from mmengine.model import BaseDataPreprocessor

from ssl_plugins.models.utils.backbone_sources import (SOURCE_MODULES,
                                                       SOURCE_PREFIXES,
                                                       backbone_module,
                                                       backbone_state_dict,
                                                       model_state_dict,
                                                       select_prefix,
                                                       source_prefix)
from ssl_plugins.registry import MODELS

# the tiny networks of test_byol.py, test_simsiam_barlow_twins_models.py and
# test_bn_running_stats.py
CIFAR18 = dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
               base_channels=8)
RESNET10 = dict(type='ResNet10_CIFAR', stem_channels=8, base_channels=8,
                strides=(2, 2, 2, 2), norm_cfg=dict(type='BN'))


def _mlp(in_channels, out_channels, **kwargs):
    return dict(type='MLPNeck', in_channels=in_channels, hid_channels=32,
                out_channels=out_channels, **kwargs)


ALGORITHMS = dict(
    BYOL=dict(type='BYOL', base_momentum=0.9, backbone=CIFAR18,
              neck=_mlp(64, 16),
              head=dict(type='LatentPredictHead',
                        predictor=_mlp(16, 16, with_avg_pool=False),
                        loss=dict(type='BYOLLoss'))),
    SimSiam=dict(type='SimSiam', backbone=CIFAR18, neck=_mlp(64, 32),
                 head=dict(type='LatentPredictHead',
                           predictor=_mlp(32, 32, with_avg_pool=False),
                           loss=dict(type='SimSiamLoss'))),
    BarlowTwins=dict(type='BarlowTwins', backbone=CIFAR18,
                     neck=_mlp(64, 32),
                     head=dict(type='BarlowTwinsLoss', lambd=0.0051)),
    SwAV=dict(type='SwAV', backbone=RESNET10, neck=_mlp(64, 16),
              head=dict(type='SwAVHead', feat_dim=16, num_prototypes=10,
                        loss=dict(type='SwAVLoss'))),
    DINO=dict(type='DINO', backbone=RESNET10,
              neck=dict(type='DINONeck', in_channels=64, out_channels=32,
                        hidden_channels=32, bottleneck_channels=16),
              head=dict(type='DINOHead',
                        loss=dict(type='DINOLoss', out_channels=32))),
)
WITH_MOMENTUM_COPY = {'BYOL', 'DINO'}


def build(name):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(ALGORITHMS[name], data_preprocessor=BaseDataPreprocessor()))
    model.init_weights()
    if hasattr(model, 'target'):  # the copy starts equal: tell them apart
        with torch.no_grad():
            for t in model.target.state_dict().values():
                if t.is_floating_point():
                    t.add_(torch.rand_like(t) + 0.5)
    return model


def _live(model, source):
    try:
        return backbone_module(model, source).state_dict()
    except AttributeError:
        return None


def _from_state_dict(state, source):
    try:
        return backbone_state_dict(state, source)
    except KeyError:
        return None


@pytest.mark.parametrize('name', sorted(ALGORITHMS))
def test_live_model_and_state_dict_name_the_same_weights(name):
    model = build(name)
    state = model.state_dict()
    ddp = model_state_dict(
        dict(state_dict={'module.' + k: v
                         for k, v in state.items()}))
    missing = set()
    for source in sorted(SOURCE_PREFIXES):
        live = _live(model, source)
        stored = _from_state_dict(state, source)
        assert (live is None) == (stored is None), (name, source)
        assert (live is None) == (_from_state_dict(ddp, source) is None)
        if live is None:
            missing.add(source)
            continue
        assert list(stored) == list(live), (name, source)
        for key, value in live.items():
            assert torch.equal(stored[key], value), (name, source, key)
        # a DDP checkpoint and the linear-eval init select the same tensors
        prefix = source_prefix(state, source)
        assert prefix == SOURCE_MODULES[source] + '.'
        for other in (_from_state_dict(ddp, source),
                      select_prefix(ddp, prefix)):
            assert list(other) == list(live)
            assert all(torch.equal(other[k], v) for k, v in live.items())
    has_copy = name in WITH_MOMENTUM_COPY
    assert missing == (set() if has_copy else {'target', 'teacher'}), name
    online = backbone_module(model, 'online').state_dict()
    target = _live(model, 'target')
    if has_copy:  # the table does not send both sources to one network
        assert not torch.equal(online['conv1.weight'],
                               target['conv1.weight'])
        assert backbone_module(model, 'teacher') is model.target.backbone
    assert backbone_module(model, 'student') is model.backbone


def test_messages_name_the_missing_backbone():
    model = build('SimSiam')
    with pytest.raises(AttributeError,
                       match=r'^SimSiam has no target\.backbone \(no '
                       r'momentum target\)$'):
        backbone_module(model, 'teacher')
    with pytest.raises(KeyError, match="no 'target' backbone in this "
                       r"checkpoint: none of the prefixes \['target\."
                       ".*It holds: backbone.conv1"):
        backbone_state_dict(model.state_dict(), 'target')
    for call in (lambda: backbone_module(model, 'momentum'),
                 lambda: backbone_state_dict(model.state_dict(),
                                             'momentum')):
        with pytest.raises(KeyError, match="unknown source 'momentum'"):
            call()


def test_select_prefix_as_pretrained_init_reads_it():
    state = {'module.backbone.a': 1, 'module.neck.b': 2, 'backbone.c': 3}
    assert select_prefix(state, 'backbone') == {'a': 1, 'c': 3}
    assert select_prefix(state, 'backbone.') == {'a': 1, 'c': 3}
    assert select_prefix(state, None) == {'backbone.a': 1, 'neck.b': 2,
                                          'backbone.c': 3}
    assert select_prefix(state, 'head.') == {}
