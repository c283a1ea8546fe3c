import importlib.util
import os.path as osp
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from ssl_plugins.evaluation.backbone_export import (
    mmpretrain_resnet_to_torchvision, torchvision_resnet_to_mmpretrain)
from ssl_plugins.models.utils.backbone_sources import backbone_state_dict

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'extract_backbone_weights',
        osp.join(ROOT, 'tools', 'extract_backbone_weights.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Evil:
    """An arbitrary pickled object: must be refused, not unpickled."""


def save_checkpoint(path, online, target=None, target_prefix='target.'):
    state = OrderedDict()
    for k, v in online.state_dict().items():
        state['backbone.' + k] = v
    state['neck.mlp.0.weight'] = torch.randn(4, 4)
    if target is not None:
        for k, v in target.state_dict().items():
            state[target_prefix + 'backbone.' + k] = v
    # numpy values in meta, as mmengine writes them (allow-listed)
    meta = dict(epoch=3, seed=np.int64(0), hist=np.arange(3.0))
    torch.save(dict(meta=meta, state_dict=state), path)


def randomize(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in module.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
    return module


def test_resnet50_online_and_target_both_formats(tmp_path):
    from mmpretrain.models import ResNet
    from torchvision.models import resnet50
    tool = load_tool()
    online = randomize(ResNet(depth=50), 0)
    target = randomize(ResNet(depth=50), 1)
    online.eval()  # mmpretrain's ResNet.train() returns None: no chaining
    ckpt = str(tmp_path / 'epoch_1.pth')
    save_checkpoint(ckpt, online, target)

    out = str(tmp_path / 'mm.pth')
    tool.main([ckpt, out, '--source', 'target'])
    weights = torch.load(out, weights_only=True)
    consumer = ResNet(depth=50)
    consumer.load_state_dict(weights, strict=True)
    for k, v in target.state_dict().items():
        assert torch.equal(consumer.state_dict()[k], v), k

    out = str(tmp_path / 'tv.pth')
    tool.main([ckpt, out, '--format', 'torchvision'])
    weights = torch.load(out, weights_only=True)
    tv = resnet50()
    missing, unexpected = tv.load_state_dict(weights, strict=False)
    assert missing == ['fc.weight', 'fc.bias'] and unexpected == []
    tv.fc = nn.Identity()
    tv.load_state_dict(weights, strict=True)
    tv.eval()
    # same function: torchvision trunk == mmpretrain ResNet + global pool
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = online(x)[-1].mean(dim=(2, 3))
        got = tv(x)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)


def test_vit_teacher_export_loads_strict(tmp_path):
    from mmpretrain.models import VisionTransformer
    arch = dict(embed_dims=32,
                num_layers=2,
                num_heads=2,
                feedforward_channels=64)
    student = randomize(
        VisionTransformer(arch=arch, img_size=32, patch_size=8), 2)
    teacher = randomize(
        VisionTransformer(arch=arch, img_size=32, patch_size=8), 3)
    ckpt = str(tmp_path / 'dino.pth')
    save_checkpoint(ckpt, student, teacher, target_prefix='teacher.')
    tool = load_tool()
    out = str(tmp_path / 'vit.pth')
    tool.main([ckpt, out, '--source', 'teacher'])
    consumer = VisionTransformer(arch=arch, img_size=32, patch_size=8)
    consumer.load_state_dict(torch.load(out, weights_only=True), strict=True)
    assert torch.equal(consumer.cls_token, teacher.cls_token)
    with pytest.raises(SystemExit, match='ResNet backbones only'):
        tool.main([ckpt, out, '--format', 'torchvision'])


def test_missing_source_names_what_is_there(tmp_path):
    from mmpretrain.models import ResNet
    ckpt = str(tmp_path / 'simsiam.pth')
    save_checkpoint(ckpt, ResNet(depth=18))
    tool = load_tool()
    with pytest.raises(SystemExit) as err:
        tool.main([ckpt, str(tmp_path / 'x.pth'), '--source', 'teacher'])
    msg = str(err.value)
    assert 'simsiam.pth' in msg and "'teacher'" in msg and 'backbone.' in msg


def test_arbitrary_pickles_are_refused(tmp_path):
    tool = load_tool()
    ckpt = str(tmp_path / 'evil.pth')
    torch.save(
        dict(meta=dict(obj=Evil()), state_dict={'backbone.w': torch.ones(1)}),
        ckpt)
    with pytest.raises(SystemExit, match='Refusing to load checkpoint'):
        tool.main([ckpt, str(tmp_path / 'out.pth')])
    assert not (tmp_path / 'out.pth').exists()


def test_help_exits_cleanly(capsys):
    tool = load_tool()
    with pytest.raises(SystemExit) as err:
        tool.main(['--help'])
    assert err.value.code == 0
    assert '--source' in capsys.readouterr().out


def test_key_mapping_round_trip_and_errors():
    from torchvision.models import resnet18
    tv = resnet18().state_dict()
    mm = torchvision_resnet_to_mmpretrain(tv)
    assert not any(k.startswith('fc.') for k in mm)
    assert mmpretrain_resnet_to_torchvision(mm).keys() == mm.keys()
    assert set(mm) == set(tv) - {'fc.weight', 'fc.bias'}
    with pytest.raises(ValueError, match='deep-stem'):
        mmpretrain_resnet_to_torchvision({
            'stem.0.conv.weight': torch.zeros(1),
            **mm
        })
    with pytest.raises(ValueError, match='avg_down'):
        mmpretrain_resnet_to_torchvision({
            'layer1.0.downsample.2.weight':
            torch.zeros(1),
            **mm
        })
    with pytest.raises(KeyError, match='unknown source'):
        backbone_state_dict(mm, 'momentum')


def test_ddp_module_prefix_is_stripped():
    from ssl_plugins.evaluation.backbone_export import export_backbone
    state = {
        'module.backbone.conv1.weight': torch.ones(2),
        'module.head.w': torch.zeros(1)
    }
    out = export_backbone({'state_dict': state})
    assert list(out) == ['conv1.weight']


def save_with_config(path, backbone, backbone_cfg):
    """A checkpoint as mmengine's Runner writes it: the config as text."""
    from mmengine.config import Config
    text = Config(dict(model=dict(type='BYOL', backbone=backbone_cfg),
                       default_scope='ssl_plugins')).pretty_text
    state = {'backbone.' + k: v for k, v in backbone.state_dict().items()}
    torch.save(dict(meta=dict(cfg=text, epoch=1), state_dict=state), path)


def test_resnet18_export_loads_into_torchvision_strict(tmp_path):
    from mmpretrain.models import ResNet
    from torchvision.models import resnet18
    tool = load_tool()
    backbone = randomize(ResNet(depth=18), 4)
    backbone.eval()
    ckpt = str(tmp_path / 'r18.pth')
    save_with_config(ckpt, backbone, dict(type='ResNet', depth=18))
    out = str(tmp_path / 'tv18.pth')
    tool.main([ckpt, out, '--format', 'torchvision'])
    tv = resnet18()
    tv.fc = nn.Identity()
    tv.load_state_dict(torch.load(out, weights_only=True), strict=True)
    tv.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(tv(x),
                                   backbone(x)[-1].mean(dim=(2, 3)),
                                   rtol=1e-4,
                                   atol=1e-4)


@pytest.mark.parametrize('kind', ['ResNet10_CIFAR', 'ResNet_CIFAR'])
def test_cifar_stem_torchvision_export_is_refused(tmp_path, kind):
    """Used to write a file torchvision's ResNet cannot load, silently."""
    from mmpretrain.models import ResNet_CIFAR

    from ssl_plugins.models.backbones import ResNet10_CIFAR
    tool = load_tool()
    if kind == 'ResNet10_CIFAR':  # the CPU configs' backbone, no config
        backbone = ResNet10_CIFAR(stem_channels=16, base_channels=16)
        ckpt = str(tmp_path / 'r10.pth')
        save_checkpoint(ckpt, backbone)
    else:  # widths of resnet18: only the stem differs
        backbone = ResNet_CIFAR(depth=18)
        ckpt = str(tmp_path / 'cifar18.pth')
        save_with_config(ckpt, backbone, dict(type='ResNet_CIFAR', depth=18))
    out = tmp_path / 'tv.pth'
    with pytest.raises(SystemExit) as err:
        tool.main([ckpt, str(out), '--format', 'torchvision'])
    msg = str(err.value)
    assert not out.exists()
    assert osp.basename(ckpt) in msg
    assert "not one of torchvision's ResNets" in msg
    assert 'conv1 is a 3x3 convolution' in msg and 'max-pool' in msg
    assert '--format mmpretrain' in msg
    if kind == 'ResNet10_CIFAR':
        assert 'BasicBlock stages of (1, 1, 1, 1) blocks' in msg
        assert 'resnet18 (2, 2, 2, 2)' in msg
    else:
        assert "config builds ResNet_CIFAR" in msg
        # nothing else differs from resnet18
        assert 'other shapes' not in msg and 'missing' not in msg
    # the mmpretrain format is unaffected
    tool.main([ckpt, str(out)])
    assert set(torch.load(out, weights_only=True)) == set(
        backbone.state_dict())


def test_strides_the_weights_cannot_show_are_refused(tmp_path):
    """Same shapes as resnet18, other function: caught from the config."""
    from mmpretrain.models import ResNet
    tool = load_tool()
    backbone = ResNet(depth=18, strides=(2, 2, 2, 2))
    ckpt = str(tmp_path / 's2.pth')
    save_with_config(ckpt, backbone,
                     dict(type='ResNet', depth=18, strides=(2, 2, 2, 2)))
    with pytest.raises(SystemExit, match=r'strides=\(2, 2, 2, 2\) '
                       r'\(torchvision: \(1, 2, 2, 2\)\)'):
        tool.main([ckpt, str(tmp_path / 'o.pth'), '--format', 'torchvision'])


def test_allow_nonstandard_writes_with_a_warning(tmp_path, capsys):
    """Opt-in for a torchvision ResNet modified to a CIFAR stem."""
    from mmpretrain.models import ResNet_CIFAR
    from torchvision.models import resnet18
    tool = load_tool()
    backbone = randomize(ResNet_CIFAR(depth=18), 5)
    backbone.eval()
    ckpt = str(tmp_path / 'cifar18.pth')
    save_checkpoint(ckpt, backbone)
    out = str(tmp_path / 'tv.pth')
    tool.main([
        ckpt, out, '--format', 'torchvision', '--allow-nonstandard-resnet'
    ])
    err = capsys.readouterr().err
    assert 'WARNING' in err and 'conv1 is a 3x3 convolution' in err
    tv = resnet18()
    tv.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    tv.maxpool, tv.fc = nn.Identity(), nn.Identity()
    tv.load_state_dict(torch.load(out, weights_only=True), strict=True)
    tv.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(tv(x),
                                   backbone(x)[-1].mean(dim=(2, 3)),
                                   rtol=1e-4,
                                   atol=1e-4)


def test_torchvision_differences_of_every_builder():
    import torchvision.models as tvm

    from ssl_plugins.evaluation.backbone_export import (
        TORCHVISION_RESNETS, torchvision_resnet_differences)
    for name in ('resnet18', 'resnet50', 'resnext50_32x4d'):
        with torch.device('meta'):
            sd = getattr(tvm, name)().state_dict()
        trunk = {k: v for k, v in sd.items() if not k.startswith('fc.')}
        assert torchvision_resnet_differences(trunk) == (name, [])
        assert name in TORCHVISION_RESNETS
    # a config that cannot be read as literals is ignored, not executed
    from ssl_plugins.evaluation.backbone_export import checkpoint_backbone_cfg
    assert checkpoint_backbone_cfg(
        dict(meta=dict(cfg='model = dict(backbone=make())'))) is None
    assert checkpoint_backbone_cfg(dict(meta=dict(cfg='x = ('))) is None
