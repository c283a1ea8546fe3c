"""Pretrained(strict=True): the weights load exactly or the run stops."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from ssl_plugins.compat.safe_load import UnsafeCheckpointError
from ssl_plugins.models.utils import CheckpointMismatchError
from ssl_plugins.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FMNIST_LINEAR = osp.join(
    ROOT, 'configs/benchmarks/linear_eval/'
    'resnet18-w32-s2_linear-1xb256-sgd-coslr-10e_fashion-mnist.py')


def resnet(width=8, init_cfg=None):
    return MODELS.build(dict(type='ResNet_CIFAR', depth=18,
                             stem_channels=width, base_channels=width,
                             init_cfg=init_cfg))


def randomised(module):
    """Weights and BN statistics that no initialisation reproduces."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5)
            elif name.endswith('num_batches_tracked'):
                t.fill_(7)
    return module


def save_pretraining_checkpoint(path, backbone, drop=(), extra=None):
    """mmengine layout: the backbone under ``backbone.``, a neck beside."""
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()
             if k not in drop}
    state['neck.fc.weight'] = torch.randn(3, 3)
    state.update(extra or {})
    torch.save(dict(meta=dict(epoch=1), state_dict=state), path)


def strict(path, prefix='backbone.'):
    return dict(type='Pretrained', checkpoint=path, prefix=prefix,
                strict=True)


def test_matching_checkpoint_loads_exactly(tmp_path):
    path = str(tmp_path / 'epoch_1.pth')
    source = randomised(resnet())
    save_pretraining_checkpoint(path, source)
    target = resnet(init_cfg=strict(path))
    target.init_weights()
    loaded, expected = target.state_dict(), source.state_dict()
    assert list(loaded) == list(expected)
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key


def test_size_mismatch_names_file_keys_and_both_shapes(tmp_path):
    path = str(tmp_path / 'wide.pth')
    save_pretraining_checkpoint(path, resnet(width=16))
    target = resnet(width=8, init_cfg=strict(path))
    with pytest.raises(CheckpointMismatchError) as info:
        target.init_weights()
    msg = str(info.value)
    assert 'wide.pth' in msg and "prefix 'backbone.'" in msg
    assert 'conv1.weight: checkpoint (16, 3, 3, 3) vs model (8, 3, 3, 3)' \
        in msg


def test_partial_checkpoint_lists_missing_keys(tmp_path):
    path = str(tmp_path / 'partial.pth')
    save_pretraining_checkpoint(
        path, resnet(), drop=('layer4.1.conv2.weight', 'layer4.1.bn2.bias'))
    target = resnet(init_cfg=strict(path))
    with pytest.raises(CheckpointMismatchError,
                       match=r'partial\.pth.*missing from the checkpoint: '
                       r'layer4\.1\.conv2\.weight, layer4\.1\.bn2\.bias'):
        target.init_weights()


def test_unexpected_keys_are_refused(tmp_path):
    path = str(tmp_path / 'extra.pth')
    save_pretraining_checkpoint(
        path, resnet(), extra={'backbone.fc.weight': torch.zeros(2, 2)})
    with pytest.raises(CheckpointMismatchError, match=r'not in .*fc\.weight'):
        resnet(init_cfg=strict(path)).init_weights()


@pytest.mark.parametrize('prefix', ['target.backbone.', None])
def test_checkpoint_without_the_backbone_says_what_it_holds(tmp_path, prefix):
    path = str(tmp_path / 'byol.pth')
    save_pretraining_checkpoint(path, resnet())
    with pytest.raises(CheckpointMismatchError) as info:
        resnet(init_cfg=strict(path, prefix)).init_weights()
    msg = str(info.value)
    assert 'byol.pth' in msg and 'provides none of the parameters' in msg
    if prefix is None:  # the full algorithm's keys, listed as a hint
        assert 'backbone.conv1' in msg and 'neck.fc' in msg


def test_exported_backbone_loads_without_prefix(tmp_path):
    path = str(tmp_path / 'backbone.pth')
    source = randomised(resnet())
    torch.save(source.state_dict(), path)
    target = resnet(init_cfg=strict(path, None))
    target.init_weights()
    assert torch.equal(target.layer3[0].conv1.weight,
                       source.layer3[0].conv1.weight)


def test_mmengine_pretrained_would_only_warn(tmp_path):
    """Why strict=True exists: by default the file leaves random weights."""
    path = str(tmp_path / 'wide.pth')
    save_pretraining_checkpoint(path, resnet(width=16))
    target = resnet(width=8, init_cfg=dict(type='Pretrained', checkpoint=path,
                                           prefix='backbone.'))
    before = target.conv1.weight.detach().clone()
    target.init_weights()  # no error
    assert torch.equal(target.conv1.weight, before)


def test_shapes_adapted_by_load_hooks_are_not_a_mismatch(tmp_path):
    # mmpretrain's ViT resizes pos_embed in a load_state_dict pre-hook
    arch = dict(embed_dims=32, num_layers=1, num_heads=2,
                feedforward_channels=64)
    vit = dict(type='VisionTransformer', arch=arch, patch_size=8)
    path = str(tmp_path / 'vit.pth')
    save_pretraining_checkpoint(path, MODELS.build(dict(vit, img_size=32)))
    target = MODELS.build(dict(vit, img_size=64, init_cfg=strict(path)))
    target.init_weights()
    assert target.pos_embed.shape == (1, 1 + 64, 32)


def test_unsafe_file_is_refused(tmp_path):
    marker = str(tmp_path / 'pwned')

    class SideEffect:

        def __reduce__(self):
            return (open, (marker, 'w'))

    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': SideEffect()}, path)
    with pytest.raises(UnsafeCheckpointError):
        resnet(init_cfg=strict(path, None)).init_weights()
    assert not osp.exists(marker)


def test_empty_checkpoint_setting_is_explained():
    with pytest.raises(ValueError, match='init_cfg.checkpoint'):
        resnet(init_cfg=strict('')).init_weights()


def test_linear_eval_config_refuses_a_narrower_backbone(tmp_path):
    """The Fashion-MNIST linear config (width 32) with a width-16 network."""
    path = str(tmp_path / 'byol_w16.pth')
    save_pretraining_checkpoint(path, resnet(width=16))
    cfg = Config.fromfile(FMNIST_LINEAR)
    assert cfg.model.backbone.init_cfg.strict
    cfg.model.backbone.init_cfg.checkpoint = path
    model = MODELS.build(cfg.model)
    with pytest.raises(CheckpointMismatchError,
                       match=r'byol_w16\.pth.*checkpoint \(16, 3, 3, 3\) vs '
                       r'model \(32, 3, 3, 3\)'):
        model.init_weights()
