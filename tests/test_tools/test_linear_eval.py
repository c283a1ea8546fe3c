import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from helpers import load_plain

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LIN = osp.join(ROOT, 'configs', 'benchmarks', 'linear_eval')
FMNIST_LINEAR = osp.join(
    LIN, 'resnet10-w16-s2_linear-1xb256-sgd-coslr-10e_fashion-mnist.py')
FMNIST_BYOL = osp.join(
    ROOT, 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def build(cfg):
    from ssl_plugins.registry import MODELS
    from ssl_plugins.utils import register_all_modules
    register_all_modules()
    return MODELS.build(cfg.model)


def pretraining_checkpoint(path):
    """A BYOL Fashion-MNIST checkpoint whose online and target differ."""
    cfg = Config.fromfile(FMNIST_BYOL)  # the linear config's network
    model = build(cfg)
    model.init_weights()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.startswith('target.') and t.is_floating_point():
                t.add_(torch.randn_like(t) * 0.1)
            if 'running_var' in name:
                t.uniform_(0.5, 2.0)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=3)), path)
    return model


@pytest.mark.parametrize(
    'name',
    sorted(f for f in os.listdir(LIN)
           if f.endswith('.py') and not f.startswith('_')))
def test_configs_build_with_a_frozen_backbone(name):
    cfg = Config.fromfile(osp.join(LIN, name))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='',
                                               prefix='backbone.',
                                               strict=True)
    model = build(cfg)
    model.train()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith('head.') for n in trainable)
    # BN layers of the frozen backbone keep their statistics in train mode
    bns = [
        m for m in model.backbone.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert bool(bns) == ('vit' not in name)  # ViT: LayerNorms only
    assert [m.training for m in bns] == [False] * len(bns)
    x = torch.randn(2, 3, 224, 224) if 'in1k' in name else torch.randn(
        2, 3, 28, 28)
    with torch.no_grad():
        feats = model.extract_feat(x)
    assert feats[-1].shape[-1] == cfg.model.head.in_channels


def test_wrapper_trains_only_the_head_from_the_chosen_source(
        tmp_path, fake_fmnist):
    ckpt = str(tmp_path / 'byol' / 'epoch_3.pth')
    os.makedirs(osp.dirname(ckpt))
    pre = pretraining_checkpoint(ckpt)
    work = str(tmp_path / 'lin')
    env = dict(os.environ,
               PYTHON=sys.executable,
               WORK_DIR=work,
               OMP_NUM_THREADS='1')
    cmd = [
        'bash',
        osp.join(ROOT, 'tools/benchmarks/linear_eval.sh'), FMNIST_LINEAR, ckpt,
        '1', 'target', '--cfg-options',
        f'train_dataloader.dataset.data_root={fake_fmnist}',
        f'val_dataloader.dataset.data_root={fake_fmnist}',
        'train_dataloader.batch_size=32', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'param_scheduler.0.T_max=1',
        'param_scheduler.0.end=1', 'default_hooks.checkpoint.interval=1'
    ]
    out = subprocess.run(cmd,
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'accuracy/top1' in out.stdout + out.stderr
    trained = load_plain(osp.join(work, 'epoch_1.pth'))['state_dict']
    target = {
        k[len('target.backbone.'):]: v
        for k, v in pre.state_dict().items()
        if k.startswith('target.backbone.')
    }
    for k, v in target.items():  # frozen weights and BN statistics
        assert torch.equal(trained['backbone.' + k], v), k
    online = pre.backbone.state_dict()
    assert not torch.equal(trained['backbone.conv1.weight'],
                           online['conv1.weight'])
    assert osp.isfile(osp.join(work, 'backbone_target.pth'))


def test_wrapper_reports_a_missing_source(tmp_path):
    ckpt = str(tmp_path / 'x.pth')
    model = torch.nn.Module()
    model.backbone = torch.nn.Linear(2, 2)
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    env = dict(os.environ, PYTHON=sys.executable, WORK_DIR=str(tmp_path / 'w'))
    out = subprocess.run([
        'bash',
        osp.join(ROOT, 'tools/benchmarks/'
                 'linear_eval.sh'), FMNIST_LINEAR, ckpt, '1', 'teacher'
    ],
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode != 0
    assert "no 'teacher' backbone" in out.stderr


@pytest.mark.parametrize('case', ['source', 'config', 'checkpoint', 'gpus'])
def test_wrapper_checks_its_arguments_before_exporting(tmp_path, case):
    """A misspelled SOURCE, CONFIG or CHECKPOINT, or a GPUS that is not a
    count, stops the wrapper with a message naming it, before the export
    writes anything (a misspelled SOURCE used to export the online backbone
    and then reach mmengine as a --cfg-options value)."""
    ckpt = str(tmp_path / 'x.pth')
    torch.save(dict(state_dict={}), ckpt)
    args = {'source': [FMNIST_LINEAR, ckpt, '1', 'tagret'],
            'config': [FMNIST_LINEAR + 'x', ckpt, '1'],
            'checkpoint': [FMNIST_LINEAR, ckpt + 'x', '1', 'target'],
            'gpus': [FMNIST_LINEAR, ckpt, 'two']}[case]
    named = {'source': "SOURCE 'tagret'", 'config': 'CONFIG',
             'checkpoint': 'CHECKPOINT', 'gpus': "GPUS 'two'"}[case]
    work = tmp_path / 'w'
    env = dict(os.environ, PYTHON=sys.executable, WORK_DIR=str(work))
    out = subprocess.run(
        ['bash', osp.join(ROOT, 'tools/benchmarks/linear_eval.sh'), *args],
        env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.startswith(f'linear_eval.sh: {named}'), out.stderr
    assert not work.exists()
