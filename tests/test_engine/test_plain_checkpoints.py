"""Our checkpoints load with a plain ``torch.load(weights_only=True)`` in a
process that never imports ssl_plugins (mmpretrain's own tools included),
and our loader restores what mmengine wrote.

Exact resume through these plain checkpoints (message hub and RNG states
restored by ``safe_torch_load`` / ``RNGStateHook``) is checked by
``test_resume_and_dist.py::test_resume_continues_exactly``: its config
inherits ``default_runtime.py``, which holds ``PlainCheckpointHook``.
"""
import importlib.util
import io
import os
import os.path as osp
import random
import subprocess
import textwrap
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from helpers import PYTHON, read_scalars, train
from ssl_plugins.compat import safe_torch_load
from ssl_plugins.compat.plain_checkpoint import (TYPE_KEY, from_plain,
                                                 non_plain_paths, to_plain)
from ssl_plugins.engine.hooks import PlainCheckpointHook, RNGStateHook

CONFIG = ('configs/byol/'
          'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def _plain_load(obj):
    """torch.save then torch.load(weights_only=True), no allow-list."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_round_trip_restores_classes_dtypes_and_values_exactly():
    hist = HistoryBuffer(max_length=50)
    for value in (0.1, 2.0 / 3.0, 7):
        hist.update(value, count=2)
    state = OrderedDict(w=torch.ones(2))
    state._metadata = OrderedDict({'': {'version': 2}})
    arrays = {
        'f8': np.array([0.1, 1e-300, np.pi]),
        'f4': np.array([[1.5, -2.25]], dtype=np.float32),
        'u4': np.array([0, 2**32 - 1], dtype=np.uint32),
        'big_endian': np.array([1.0, 2.5], dtype='>f8'),
        'bool': np.array([True, False]),
        'zero_d': np.array(3, dtype=np.int16),
        'empty': np.array([]),
        'text': np.array([['ab', 'c'], ['d', 'efg']]),
    }
    scalars = [np.float64(0.1), np.float32(1 / 3), np.int64(-5),
               np.bool_(True), np.str_('x')]
    ckpt = {
        'state_dict': state,
        'message_hub': {'log_scalars': {'train/loss': hist},
                        'runtime_info': {'eta': np.float64(12.5)}},
        'arrays': arrays,
        'scalars': tuple(scalars),
        'dtype': np.dtype('float32'),
    }
    plain = to_plain(ckpt)
    assert non_plain_paths(plain) == []
    assert plain['state_dict'] is state  # untouched, _metadata kept
    assert plain['message_hub']['log_scalars']['train/loss'][TYPE_KEY] == \
        'mmengine.HistoryBuffer'
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)  # the input is not modified

    loaded = from_plain(_plain_load(plain))
    back = loaded['message_hub']['log_scalars']['train/loss']
    assert type(back) is HistoryBuffer and back.max_length == 50
    for got, want in zip(back.data, hist.data):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert back.mean() == hist.mean() and back.current() == 7
    eta = loaded['message_hub']['runtime_info']['eta']
    assert type(eta) is np.float64 and eta == 12.5
    for name, want in arrays.items():
        got = loaded['arrays'][name]
        assert type(got) is np.ndarray, name
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert np.array_equal(got, want), name
    for got, want in zip(loaded['scalars'], scalars):
        assert type(got) is type(want) and got == want
    assert isinstance(loaded['scalars'], tuple)
    assert loaded['dtype'] == np.dtype('float32')
    assert loaded['state_dict']._metadata == state._metadata
    assert from_plain(loaded) is loaded  # nothing tagged left: a no-op


def test_rng_state_is_plain_and_restores_every_generator():
    hook = RNGStateHook()
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    np.random.normal()  # a cached Gaussian is part of numpy's state
    ckpt = {}
    hook.before_save_checkpoint(None, ckpt)
    assert non_plain_paths(ckpt) == []
    expected = (random.random(), np.random.normal(),
                np.random.randint(1 << 30), torch.rand(2))
    loaded = _plain_load(ckpt)
    random.seed(9), np.random.seed(9), torch.manual_seed(9)

    class Runner:
        _resume = True

    hook.after_load_checkpoint(Runner(), loaded)
    got = (random.random(), np.random.normal(), np.random.randint(1 << 30),
           torch.rand(2))
    assert got[:3] == expected[:3]
    assert torch.equal(got[3], expected[3])

    # a checkpoint of the earlier format (numpy's tuple) still restores
    np.random.seed(4)
    old = {'rng_state': dict(python=random.getstate(),
                             numpy=np.random.get_state(),
                             torch=torch.get_rng_state())}
    want = np.random.rand()
    np.random.seed(5)
    hook.after_load_checkpoint(Runner(), old)
    assert np.random.rand() == want


def test_rng_states_of_another_world_size_restore_rank_0_and_warn():
    """A 2-rank checkpoint resumed in 1 process: rank 0's states, and a
    warning that the continuation is not exact (not rank 1's states)."""
    hook = RNGStateHook()
    states = []
    for seed in (11, 12):
        torch.manual_seed(seed)
        states.append(dict(python=random.getstate(),
                           numpy=np.random.get_state(),
                           torch=torch.get_rng_state()))
    ckpt = {'rng_state': dict(states[0], ranks=states)}
    torch.manual_seed(11)
    want = torch.rand(3)
    torch.manual_seed(0)

    class Runner:
        _resume = True

    with pytest.warns(UserWarning, match=r'states of 2 process\(es\), this '
                      r'run has 1: rank 0 takes rank 0'):
        hook.after_load_checkpoint(Runner(), ckpt)
    assert torch.equal(torch.rand(3), want)


def test_hook_names_what_stays_unloadable():

    class Opaque:
        pass

    class Logger:
        messages = []

        def warning(self, message):
            self.messages.append(message)

    class Runner:
        logger = Logger()

    ckpt = {'meta': {'custom': Opaque(), 'eta': np.float32(1.0)}}
    with pytest.raises(TypeError, match=r"checkpoint\['meta'\]\['custom'\]"):
        PlainCheckpointHook(strict=True).before_save_checkpoint(Runner(),
                                                                ckpt)
    ckpt = {'meta': {'custom': Opaque(), 'eta': np.float32(1.0)}}
    hook = PlainCheckpointHook()
    hook.before_save_checkpoint(Runner(), ckpt)
    assert len(Runner.logger.messages) == 1
    assert "checkpoint['meta']['custom']" in Runner.logger.messages[0]
    assert "'eta'" not in Runner.logger.messages[0]  # converted
    assert ckpt['meta']['eta'][TYPE_KEY] == 'numpy.generic'


# Run in a process that never imports ssl_plugins: a bare torch.load first
# (mmengine not even imported), then mmengine's 'Pretrained' initialisation
# of a mmpretrain backbone from the full checkpoint and the exported file.
_WITHOUT_US = textwrap.dedent('''
    import sys
    import torch
    full, exported = sys.argv[1], sys.argv[2]
    ckpt = torch.load(full, weights_only=True)
    assert not any(m.split('.')[0] in ('ssl_plugins', 'mmengine')
                   for m in sys.modules)
    print('KEYS', sorted(ckpt))
    print('HUB', ckpt['message_hub']['log_scalars']['train/loss']
          ['__ssl_plugins_type__'])

    from mmengine.model.weight_init import PretrainedInit
    from mmpretrain.models import ResNet_CIFAR

    def backbone():
        return ResNet_CIFAR(depth=18, stem_channels=8, base_channels=8,
                            strides=(2, 2, 2, 2))

    want = {k[len('backbone.'):]: v for k, v in ckpt['state_dict'].items()
            if k.startswith('backbone.')}

    def same(net):
        got = net.state_dict()
        return sorted(got) == sorted(want) and all(
            torch.equal(got[k], want[k]) for k in want)

    net = backbone()
    PretrainedInit(checkpoint=full, prefix='backbone.')(net)
    print('FULL_WITH_PREFIX', same(net))
    net = backbone()
    PretrainedInit(checkpoint=exported)(net)
    print('EXPORTED_NO_PREFIX', same(net))
    try:
        PretrainedInit(checkpoint=exported, prefix='backbone.')(backbone())
        print('EXPORTED_WITH_PREFIX loaded')
    except AssertionError as err:
        print('EXPORTED_WITH_PREFIX refused:', err)
    net = backbone()
    PretrainedInit(checkpoint=full)(net)  # strict=False: only a warning
    print('FULL_NO_PREFIX', same(net))
    print('SSL_PLUGINS_IMPORTED', 'ssl_plugins' in sys.modules)
''')

# mmpretrain's own tools/train.py (through runpy, so that we can look at
# sys.modules afterwards) with a config inheriting its shipped BYOL
# linear-evaluation config, whose init_cfg is
# dict(type='Pretrained', checkpoint='', prefix='backbone.').
_MMPRETRAIN_TRAIN = textwrap.dedent('''
    import runpy
    import sys
    train_py, config, work_dir = sys.argv[1:4]
    sys.argv = [train_py, config, '--work-dir', work_dir]
    try:
        runpy.run_path(train_py, run_name='__main__')
    finally:
        print('SSL_PLUGINS_IMPORTED', 'ssl_plugins' in sys.modules)
''')

_LINEAR_CONFIG = '''
_base_ = [{shipped!r}]
model = dict(
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8, strides=(2, 2, 2, 2),
                  init_cfg=dict(checkpoint={checkpoint!r})),
    head=dict(num_classes=2, in_channels=64, topk=(1, )))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset', data_root={images!r},
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='RandomResizedCrop', scale=32,
                                backend='pillow'),
                           dict(type='PackInputs')]))
train_cfg = dict(max_epochs=1)
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
'''


def _clean_env():
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)  # nothing of the repository on the path
    return env


def _run_without_us(args, cwd):
    proc = subprocess.run([PYTHON, '-c', *args], cwd=cwd, env=_clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def _write_images(root):
    from PIL import Image
    rng = np.random.default_rng(0)
    for label in ('a', 'b'):
        os.makedirs(osp.join(root, label))
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3),
                                         dtype=np.uint8)).save(
                                             osp.join(root, label, f'{i}.png'))


def test_checkpoint_is_read_by_tools_that_never_import_us(
        fake_fmnist, tmp_path):
    from test_resume_and_dist import tiny
    work = str(tmp_path / 'byol')
    # mmpretrain's ResNet_CIFAR as backbone: a class a process without
    # ssl_plugins can build
    train(CONFIG, work, *tiny(fake_fmnist, 'train_cfg.max_epochs=1',
                              'model.backbone.type=mmpretrain.ResNet_CIFAR',
                              'model.backbone.depth=18'))
    full = osp.join(work, 'epoch_1.pth')

    # our loader gives mmengine's resume the objects it wrote
    ckpt = safe_torch_load(full)
    losses = [v for _, v in read_scalars(work)]
    assert len(losses) == 4
    hub = MessageHub('plain-checkpoint-test')
    hub.load_state_dict(ckpt['message_hub'])
    loss = hub.get_scalar('train/loss')
    assert type(loss) is HistoryBuffer
    np.testing.assert_allclose(loss.data[0], losses, rtol=1e-4)
    assert loss.data[0].dtype == np.float64

    # the exported backbone (tools/extract_backbone_weights.py's output)
    from ssl_plugins.evaluation.backbone_export import export_backbone
    exported = str(tmp_path / 'backbone.pth')
    torch.save(export_backbone(ckpt), exported)

    out = _run_without_us([_WITHOUT_US, full, exported], str(tmp_path))
    assert 'HUB mmengine.HistoryBuffer' in out
    assert "'message_hub'" in out and "'rng_state'" in out
    assert 'FULL_WITH_PREFIX True' in out, out[-3000:]
    assert 'EXPORTED_NO_PREFIX True' in out, out[-3000:]
    assert 'EXPORTED_WITH_PREFIX refused' in out, out[-3000:]
    assert 'FULL_NO_PREFIX False' in out  # the documented trap
    assert 'SSL_PLUGINS_IMPORTED False' in out

    spec = importlib.util.find_spec('mmpretrain')
    mim = osp.join(spec.submodule_search_locations[0], '.mim')
    shipped = osp.join(mim, 'configs', 'byol', 'benchmarks',
                       'resnet50_8xb512-linear-coslr-90e_in1k.py')
    if not osp.isfile(shipped):
        pytest.skip('mmpretrain installed without its .mim configs')
    images = str(tmp_path / 'images')
    _write_images(images)
    config = tmp_path / 'linear.py'
    config.write_text(_LINEAR_CONFIG.format(shipped=shipped, checkpoint=full,
                                            images=images))
    linear_work = str(tmp_path / 'linear')
    out = _run_without_us([
        _MMPRETRAIN_TRAIN, osp.join(mim, 'tools', 'train.py'), str(config),
        linear_work
    ], str(tmp_path))
    assert f'load backbone. in model from: {full}' in out, out[-3000:]
    assert 'do not match exactly' not in out, out[-3000:]
    assert 'SSL_PLUGINS_IMPORTED False' in out
    # the shipped config freezes all stages: the trained classifier's
    # backbone is exactly ours, BN statistics included
    trained = safe_torch_load(osp.join(linear_work, 'epoch_1.pth'))
    for key, value in ckpt['state_dict'].items():
        if key.startswith('backbone.'):
            assert torch.equal(trained['state_dict'][key], value), key
