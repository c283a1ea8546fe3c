"""mmengine's ``compile=True`` for every method (docs/benchmarks.md,
"Compiled steps").

Each shipped Fashion-MNIST config (network as the CPU configs: ResNet10_CIFAR
width 16, 28 px; batch 8, one epoch of the 64 fake images: 8 iterations) is
trained twice by the Runner from the same seed, eagerly and with
``compile=dict(backend='aot_eager')``, with the config's hooks (EMA schedule,
DINO's centring, temperature warm-up and last-layer freezing, SwAV's queue and
prototype freezing, channels_last, collapse monitor) and learning-rate
schedules, which change Python floats every iteration.

- The losses of every iteration and the weights and buffers after the last
  one agree within ``RTOL`` / ``ATOL``. ``aot_eager`` runs the eager kernels
  on AOTAutograd's functionalised forward and backward graphs; only the
  order of a few floating-point sums may differ (gradients of a tensor used
  twice, decomposed backward ops), i.e. float32 rounding (~1e-7 relative per
  op) carried through 8 optimizer steps (measured on torch 2.14 / CPU:
  identical bits). inductor's fused kernels reorder more sums: its smoke
  test (opt-in, ``SSL_PLUGINS_TEST_INDUCTOR=1``) compares BYOL's 8
  iterations at ``INDUCTOR_RTOL``.
- Dynamo compiles nothing after the warm-up iterations (``WARMUP``):
  ``counters['frames']['total']`` stays constant, with the recompilation
  limit raised so that a recompilation at every step could not hide behind
  Dynamo's fallback to eager.

``aot_eager`` rather than inductor: inductor's C++ compilation of one
training step took 15 minutes on the shared 2-core machine, ``aot_eager``
traces in seconds per method (Dynamo and AOTAutograd: everything that
decides recompilations, graph breaks and the graphs' values).
"""
import copy
import math
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch._dynamo.utils import counters

from helpers import (BYOL_FMNIST, PYTHON, REPO, make_fake_fashion_mnist,
                     read_scalars, run_tool, tiny_byol)

RTOL, ATOL = 1e-5, 1e-6
INDUCTOR_RTOL, INDUCTOR_ATOL = 1e-4, 1e-5

_RESNET10_256 = dict(_delete_=True, type='ResNet10_CIFAR', stem_channels=16,
                     base_channels=16, stage_channels=(16, 32, 64, 256),
                     strides=(2, 2, 2, 2), norm_cfg=dict(type='BN'),
                     zero_init_residual=False)

#: method -> (config, overrides). SimSiam and Barlow Twins: their fp32
#: configs on the ResNet10 w16 of their out256 configs. DINO: the teacher
#: temperature warms up per iteration and the last layer is released at
#: iteration 3; SwAV: a 16-embedding queue from iteration 1 (full, thus used,
#: from iteration 3), prototypes released at iteration 2.
CASES = {
    'byol': ('configs/byol/byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_'
             'fashion-mnist.py', {}),
    'simsiam': ('configs/simsiam/simsiam_resnet18-w32-s2_1xb256-coslr-3e_'
                'fashion-mnist.py', {'model.backbone': _RESNET10_256}),
    'barlow_twins': ('configs/barlow_twins/barlowtwins_resnet18-w32-s2-'
                     'proj2048_1xb256-coslr-3e_fashion-mnist.py',
                     {'model.backbone': _RESNET10_256}),
    'swav': ('configs/swav/swav_resnet10-w16-s2-proj1024-k1000_1xb256-mcrop-'
             '2-6-cj0.4-coslr-3e_fashion-mnist.py',
             {'custom_hooks.0.start_iter': 1, 'custom_hooks.0.length': 16,
              'custom_hooks.1.iters': 2}),
    'dino': ('configs/dino/dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-'
             'coslr-4e_fashion-mnist.py',
             {'custom_hooks.2.warmup_iters': 4,
              'custom_hooks.3.freeze_iters': 3}),
}

#: Iterations that may compile. The first compiles the step; DINO
#: recompiles once when the teacher temperature first changes (Dynamo then
#: keeps it as a symbolic float); SwAV when its queue starts (iteration 1)
#: and when it is first used (iteration 3).
WARMUP = {'byol': 1, 'simsiam': 1, 'barlow_twins': 1, 'dino': 2, 'swav': 4}
ITERS = 8


class StepRecorder(Hook):
    """Loss and Dynamo's compiled-frame count after every iteration."""
    priority = 'LOWEST'

    def __init__(self):
        self.losses, self.frames = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))
        self.frames.append(counters['frames']['total'])


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_fake_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')))


def _cfg(method, data_root, work_dir, compile_cfg=None):
    config, overrides = CASES[method]
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.batch_size': 8,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_cfg.max_epochs': 1,
        'default_hooks.checkpoint': None,
        'randomness.seed': 0,
        **copy.deepcopy(overrides)
    })
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    if compile_cfg is not None:
        cfg.compile = compile_cfg
    return cfg


def _train(cfg):
    runner = Runner.from_cfg(cfg)
    recorder = StepRecorder()
    runner.register_hook(recorder)
    runner.train()
    model = runner.model
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if hasattr(model, 'queue_state') and model.queue_state() is not None:
        state['swav_queue'] = model.queue_state().clone()
    return recorder, state


def _recompile_limit():
    import torch._dynamo.config as config
    name = ('recompile_limit' if hasattr(config, 'recompile_limit') else
            'cache_size_limit')
    return config.patch(**{name: 64})


def _compare(method, data_root, work_dir, backend, rtol, atol):
    """Eager and compiled runs of ``method``: same losses and final state
    within ``rtol`` / ``atol``, no compilation after the warm-up."""
    eager, eager_state = _train(_cfg(method, data_root,
                                     osp.join(work_dir, 'eager')))
    torch._dynamo.reset()
    before = counters['frames']['total']
    with _recompile_limit():
        compiled, compiled_state = _train(
            _cfg(method, data_root, osp.join(work_dir, 'compiled'),
                 dict(backend=backend)))
    torch._dynamo.reset()

    assert len(eager.losses) == len(compiled.losses) == ITERS
    assert all(math.isfinite(v) for v in eager.losses)
    torch.testing.assert_close(compiled.losses, eager.losses, rtol=rtol,
                               atol=atol)
    assert compiled_state.keys() == eager_state.keys()
    for key, value in eager_state.items():
        torch.testing.assert_close(compiled_state[key], value, rtol=rtol,
                                   atol=atol, msg=key)
    # the step was compiled in the first iteration ...
    frames = [f - before for f in compiled.frames]
    assert frames[0] > 0, frames
    # ... and nothing after the warm-up (not one recompilation per step)
    warmup = WARMUP[method]
    assert frames[warmup - 1:] == [frames[warmup - 1]] * (ITERS - warmup + 1)
    # the eager run compiled nothing
    assert eager.frames == [eager.frames[0]] * ITERS


@pytest.mark.parametrize('method', list(CASES))
def test_compiled_step_equals_eager_and_compiles_once(method, data_root,
                                                      tmp_path):
    _compare(method, data_root, str(tmp_path), 'aot_eager', RTOL, ATOL)


@pytest.mark.skipif(not os.environ.get('SSL_PLUGINS_TEST_INDUCTOR'),
                    reason='inductor compiles C++ for minutes on 2 cores; '
                    'set SSL_PLUGINS_TEST_INDUCTOR=1')
def test_inductor_smoke(data_root, tmp_path):
    """compile=True's default backend on BYOL (C++ kernels on the CPU)."""
    _compare('byol', data_root, str(tmp_path), 'inductor', INDUCTOR_RTOL,
             INDUCTOR_ATOL)


def test_train_tool_compile_flag(tmp_path, monkeypatch):
    """``tools/train.py CONFIG --compile [BACKEND]`` sets mmengine's
    ``compile`` and trains: 2 iterations of the BYOL demo config's tiny run
    (32 images, batch 16)."""
    import importlib.util
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def merged(*argv):
        args = tool.parse_args([osp.join(REPO, BYOL_FMNIST), *argv])
        return tool.merge_args(Config.fromfile(args.config), args)

    assert 'compile' not in merged()
    assert merged('--compile').compile == dict(backend='inductor')
    assert merged('--compile', 'aot_eager', '--cfg-options',
                  'compile.mode=max-autotune').compile == dict(
                      backend='aot_eager', mode='max-autotune')

    root = make_fake_fashion_mnist(str(tmp_path / 'fmnist'), num_train=32)
    work = str(tmp_path / 'work')
    proc = run_tool([
        PYTHON, 'tools/train.py', BYOL_FMNIST, '--work-dir', work,
        '--compile', 'aot_eager', '--cfg-options',
        *tiny_byol(root, 'train_cfg.max_epochs=1')
    ])
    assert 'Model has been "compiled"' in proc.stdout + proc.stderr
    losses = read_scalars(work, 'loss')
    assert [it for it, _ in losses] == [1, 2], losses
    assert all(math.isfinite(v) for _, v in losses)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
