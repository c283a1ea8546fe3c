"""tools/train.py with what OpenMMLab users already type: --cfg-options on a
config variable, --amp and --launcher on machines without GPUs."""
import glob
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from helpers import PYTHON, REPO, free_port, run_tool, tiny_byol

CONFIG = ('configs/byol/'
          'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')
DINO = ('configs/dino/dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-'
        'coslr-4e_fashion-mnist.py')


def tiny(data_root, *extra):
    """A few-second BYOL run on the fake data set (4 iterations / epoch)."""
    return tiny_byol(data_root, *extra)


@pytest.fixture
def tool(monkeypatch):
    """tools/train.py as a module; parse_args' LOCAL_RANK is undone."""
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merged(tool, config, *argv):
    args = tool.parse_args([osp.join(REPO, config), *argv])
    return tool.merge_args(Config.fromfile(args.config), args)


# --cfg-options on a variable the config already used ----------------------

def test_variable_used_by_other_fields_stops_naming_them(tool):
    with pytest.raises(SystemExit) as err:
        merged(tool, CONFIG, '--cfg-options', 'max_epochs=1')
    message = str(err.value)
    # the fields max_epochs = 4 was written into, with the new values
    for part in ('train_cfg.max_epochs=1', 'param_scheduler.1.end=1',
                 'param_scheduler.1.T_max=0.7', 'max_epochs - 0.3'):
        assert part in message, message
    with pytest.raises(SystemExit) as err:
        merged(tool, DINO, '--cfg-options', 'warmup_epochs=0.5')
    for part in ('param_scheduler.0.end=0.5', 'param_scheduler.1.begin=0.5',
                 'param_scheduler.1.T_max=3.5'):
        assert part in str(err.value)


def test_variable_with_its_fields_set_too_is_accepted(tool):
    cfg = merged(tool, CONFIG, '--cfg-options', 'max_epochs=1',
                 'train_cfg.max_epochs=1', 'param_scheduler.1.end=1',
                 'param_scheduler.1.T_max=0.7')
    assert cfg.train_cfg.max_epochs == 1
    assert cfg.param_scheduler[1].end == 1


def test_top_level_keys_mmengine_reads_still_merge(tool):
    cfg = merged(tool, CONFIG, '--cfg-options', 'load_from=/some/file.pth',
                 'log_level=DEBUG', 'max_epochs=4')  # 4: unchanged
    assert (cfg.load_from, cfg.log_level) == ('/some/file.pth', 'DEBUG')


def test_base_and_derived_variables(tool, tmp_path):
    (tmp_path / 'base.py').write_text(
        'max_epochs = 8\n'
        'warmup_iters = max_epochs * 10\n'
        "schedule = dict(warmup=dict(end=warmup_iters), other=3)\n")
    (tmp_path / 'child.py').write_text(
        "_base_ = ['base.py']\n"
        "train_cfg = dict(max_epochs={{_base_.max_epochs}})\n")
    with pytest.raises(SystemExit) as err:
        merged(tool, str(tmp_path / 'child.py'), '--cfg-options',
               'max_epochs=2')
    message = str(err.value)
    assert 'schedule.warmup.end=20' in message  # through warmup_iters
    assert 'train_cfg.max_epochs=2' in message  # through {{_base_.}}
    assert 'schedule.other' not in message


# --amp without CUDA ---------------------------------------------------------

def test_amp_without_cuda_is_bf16_autocast(tool, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = merged(tool, CONFIG, '--amp')
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert 'loss_scale' not in cfg.optim_wrapper
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and 'bf16' in printed[0]


def test_amp_run_on_cpu_trains_and_says_bf16(fake_fmnist, tmp_path):
    work = str(tmp_path / 'amp')
    proc = run_tool([
        PYTHON, 'tools/train.py', CONFIG, '--work-dir', work, '--amp',
        '--cfg-options', *tiny(fake_fmnist, 'train_cfg.max_epochs=1')
    ], env=dict(CUDA_VISIBLE_DEVICES=''))
    out = proc.stdout + proc.stderr
    line = [x for x in out.splitlines() if '--amp without CUDA' in x]
    assert len(line) == 1 and 'bf16' in line[0], out[-3000:]
    logs = glob.glob(osp.join(work, '*', '*.log'))
    assert any('--amp without CUDA' in open(p).read() for p in logs)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


# the distributed backend that runs is the one logged ------------------------

def test_launcher_without_cuda_logs_gloo(tool, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for launcher in ('pytorch', 'slurm'):
        cfg = merged(tool, CONFIG, '--launcher', launcher)
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.env_cfg.dist_cfg.timeout == 1800  # the rest is kept
    assert merged(tool, CONFIG).env_cfg.dist_cfg.backend == 'nccl'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = merged(tool, CONFIG, '--launcher', 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'


# --launcher slurm without GPUs ----------------------------------------------

def slurm_env(**extra):
    env = dict(os.environ, SLURM_PROCID='0', SLURM_NTASKS='1',
               SLURM_NODELIST='localhost', MASTER_PORT=str(free_port()),
               CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    env.pop('MASTER_ADDR', None)
    env.update(extra)
    return env


@pytest.mark.parametrize('extra', [{}, dict(SLURM_LOCALID='0')])
def test_slurm_init_without_gpus_uses_gloo(extra):
    # mmengine: ZeroDivisionError (no SLURM_LOCALID), else CUDA's error
    code = ('import ssl_plugins, os\n'
            'import torch.distributed as dist\n'
            'from mmengine.dist import init_dist\n'
            "init_dist('slurm', backend='nccl', timeout=60)\n"
            'print(dist.get_backend(), dist.get_world_size(), '
            "dist.get_rank(), os.environ['MASTER_ADDR'])\n"
            'dist.destroy_process_group()\n')
    out = subprocess.run([sys.executable, '-c', code], env=slurm_env(**extra),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ['gloo', '1', '0', 'localhost']


def test_slurm_training_run_without_gpus(fake_fmnist, tmp_path):
    work = str(tmp_path / 'slurm')
    env = slurm_env()
    env = {k: env[k] for k in ('SLURM_PROCID', 'SLURM_NTASKS',
                               'SLURM_NODELIST', 'MASTER_PORT',
                               'CUDA_VISIBLE_DEVICES')}
    run_tool([PYTHON, 'tools/train.py', CONFIG, '--work-dir', work,
              '--launcher', 'slurm', '--cfg-options',
              *tiny(fake_fmnist, 'train_cfg.max_epochs=1')], env=env)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    # the config logged and dumped says the backend that ran
    (log,) = glob.glob(osp.join(work, '*', '*.log'))
    text = open(log).read()
    assert "backend='gloo'" in text and "backend='nccl'" not in text
    assert 'Distributed launcher: slurm' in text


# the end of a distributed run -----------------------------------------------

def test_a_finished_run_shuts_its_process_group_down(tool, tmp_path,
                                                     monkeypatch):
    """main() ends a completed run with finish_distributed(), which waits
    for every rank and destroys the process group (a live group at exit
    aborted a gloo rank after a complete run)."""
    import torch.distributed as dist

    calls = []

    class FakeRunner:
        logger = type('L', (), {'info': staticmethod(lambda line: None)})

        @classmethod
        def from_cfg(cls, cfg):
            return cls()

        def train(self):
            calls.append('train')

    monkeypatch.setattr(tool, 'Runner', FakeRunner)
    monkeypatch.setattr(tool, 'finish_distributed',
                        lambda: calls.append('finish'))
    tool.main([osp.join(REPO, CONFIG), '--work-dir', str(tmp_path / 'w')])
    assert calls == ['train', 'finish']

    # the real one, on a 1-process gloo group
    monkeypatch.undo()
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    try:
        tool.finish_distributed()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    tool.finish_distributed()  # no group: nothing to do
