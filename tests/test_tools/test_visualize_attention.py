import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCH = dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64)


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'visualize_attention', osp.join(ROOT, 'tools',
                                        'visualize_attention.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup_files(tmp_path):
    from mmpretrain.models import VisionTransformer
    from PIL import Image
    cfg = tmp_path / 'dino_tiny.py'
    cfg.write_text(
        "default_scope = 'ssl_plugins'\n"
        f"model = dict(type='DINO', backbone=dict(type='VisionTransformer', "
        f"arch={ARCH!r}, img_size=32, patch_size=8))\n")
    torch.manual_seed(0)
    student = VisionTransformer(arch=ARCH, img_size=32, patch_size=8)
    teacher = VisionTransformer(arch=ARCH, img_size=32, patch_size=8)
    teacher.init_weights()
    state = {'backbone.' + k: v for k, v in student.state_dict().items()}
    state.update({
        'target.backbone.' + k: v
        for k, v in teacher.state_dict().items()
    })
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=state), ckpt)
    img = tmp_path / 'img.png'
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (50, 70, 3),
                                 dtype=np.uint8)).save(img)
    return str(cfg), str(ckpt), str(img), teacher


def test_writes_one_png_per_head_mean_and_masks(tmp_path):
    import matplotlib.image as mpimg
    tool = load_tool()
    cfg, ckpt, img, teacher = setup_files(tmp_path)
    out = str(tmp_path / 'attn')
    written = tool.main([
        cfg, ckpt, img, '--out', out, '--image-size', '44', '60',
        '--threshold', '0.6'
    ])
    names = sorted(osp.basename(p) for p in written)
    assert names == sorted([f'attn-head{i}.png'
                            for i in range(4)] + ['attn-mean.png'] +
                           [f'mask-head{i}.png' for i in range(4)] +
                           ['mask-mean.png'] + ['attn-heads.png'])
    # 44 x 60 cropped to multiples of the 8-px patch: 40 x 56
    assert mpimg.imread(osp.join(out, 'attn-head0.png')).shape[:2] == (40, 56)
    assert mpimg.imread(osp.join(out, 'image.png')).shape[:2] == (40, 56)
    # a checkpoint without a momentum teacher: clear error, default source
    state = torch.load(ckpt, weights_only=True)['state_dict']
    only_student = str(tmp_path / 'student_only.pth')
    torch.save(
        dict(state_dict={
            k: v
            for k, v in state.items() if k.startswith('backbone.')
        }), only_student)
    with pytest.raises(SystemExit, match="student_only.pth: no 'teacher'"):
        tool.main([cfg, only_student, img, '--out', out])


def test_default_teacher_weights_are_used(tmp_path):
    tool = load_tool()
    cfg, ckpt, _, teacher = setup_files(tmp_path)
    from mmengine.config import Config
    vit = tool.build_vit(Config.fromfile(cfg), ckpt, 'teacher', 'cpu')
    for k, v in teacher.state_dict().items():
        assert torch.equal(vit.state_dict()[k], v)


def test_mass_mask_keeps_the_top_fraction():
    tool = load_tool()
    attn = torch.tensor([[[0.5, 0.05], [0.3, 0.15]]])
    # sorted: .5 .3 .15 .05 -> .5 + .3 = .8 >= .6 keeps 2 patches (DINO rule)
    mask = tool.mass_mask(attn, 0.6)
    assert mask.tolist() == [[[True, False], [True, False]]]
    assert tool.mass_mask(attn, 0.4).sum() == 1


def test_help():
    tool = load_tool()
    with pytest.raises(SystemExit) as err:
        tool.parse_args(['--help'])
    assert err.value.code == 0


def test_resnet_config_is_a_clear_error(tmp_path):
    """A ResNet config used to fail with a raw AttributeError (patch_embed)
    after loading the weights; now: which backbone, and what is supported."""
    from ssl_plugins.models.backbones import ResNet10_CIFAR
    tool = load_tool()
    _, _, img, _ = setup_files(tmp_path)
    cfg = tmp_path / 'byol_resnet.py'
    cfg.write_text("default_scope = 'ssl_plugins'\n"
                   "model = dict(type='BYOL', backbone=dict("
                   "type='ResNet10_CIFAR', stem_channels=8, base_channels=8))"
                   '\n')
    resnet = ResNet10_CIFAR(stem_channels=8, base_channels=8)
    ckpt = tmp_path / 'byol.pth'
    torch.save(
        dict(state_dict={
            'target.backbone.' + k: v
            for k, v in resnet.state_dict().items()
        }), ckpt)
    with pytest.raises(SystemExit) as err:
        tool.main([str(cfg), str(ckpt), img, '--out', str(tmp_path / 'a')])
    msg = str(err.value)
    assert "model.backbone.type is 'ResNet10_CIFAR'" in msg
    assert 'byol_resnet.py' in msg and 'VisionTransformer' in msg
    assert 'class token' in msg
    assert not (tmp_path / 'a').exists()
    # checked before the checkpoint is read
    with pytest.raises(SystemExit, match="'ResNet10_CIFAR'"):
        tool.main([str(cfg), str(tmp_path / 'none.pth'), img, '--out',
                   str(tmp_path / 'a')])


def test_vit_without_class_token_is_a_clear_error(tmp_path):
    tool = load_tool()
    _, ckpt, img, _ = setup_files(tmp_path)
    cfg = tmp_path / 'no_cls.py'
    cfg.write_text(
        "default_scope = 'ssl_plugins'\n"
        f"model = dict(type='DINO', backbone=dict(type='VisionTransformer', "
        f"arch={ARCH!r}, img_size=32, patch_size=8, with_cls_token=False, "
        "out_type='avg_featmap'))\n")
    with pytest.raises(SystemExit, match='with_cls_token=False'):
        tool.main([str(cfg), ckpt, img, '--out', str(tmp_path / 'b')])
