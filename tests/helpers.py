"""Shared test helpers: tiny data sets, Runner runs, 2-process gloo groups."""
import gzip
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
PYTHON = sys.executable


def write_idx(path: str, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (images 2051, labels 2049)."""
    magic = 2051 if array.ndim == 3 else 2049
    header = magic.to_bytes(4, 'big') + b''.join(
        d.to_bytes(4, 'big') for d in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_fake_fashion_mnist(root: str, num_train: int = 64,
                            num_test: int = 32, seed: int = 0) -> str:
    """A tiny Fashion-MNIST look-alike (10 classes, class-dependent blobs)."""
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    for split, n, prefix in (('train', num_train, 'train'),
                             ('test', num_test, 't10k')):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, size=(n, 28, 28))
        for i, label in enumerate(labels):  # a bright square per class
            r, c = 2 + (label // 5) * 12, 2 + (label % 5) * 5
            images[i, r:r + 10, c:c + 5] = 230
        write_idx(osp.join(root, f'{prefix}-images-idx3-ubyte.gz'), images)
        write_idx(osp.join(root, f'{prefix}-labels-idx1-ubyte.gz'), labels)
    return root


def _join_path(*parts: Optional[str]) -> str:
    return os.pathsep.join(p for p in parts if p)


def run_tool(args: Sequence[str], env: Optional[dict] = None,
             timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command from the repo root with OMP_NUM_THREADS=1."""
    # the repo first; keep the caller's PYTHONPATH (e.g. packages installed
    # with ``pip install --target``)
    inherited = os.environ.get('PYTHONPATH')
    full_env = dict(os.environ, OMP_NUM_THREADS='1',
                    PYTHONPATH=_join_path(REPO, inherited))
    if any('dist_train.sh' in a or 'torch.distributed.run' in a
           for a in args):
        # the distributed tests are the 2-process CPU (gloo) ones, also on a
        # machine with fewer GPUs than processes
        full_env['CUDA_VISIBLE_DEVICES'] = ''
    env = dict(env or {})
    if 'PYTHONPATH' in env:
        env['PYTHONPATH'] = _join_path(env['PYTHONPATH'], inherited)
    full_env.update(env)
    proc = subprocess.run(list(args), cwd=REPO, env=full_env, timeout=timeout,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def train(config: str, work_dir: str, *cfg_options: str,
          extra: Sequence[str] = ()) -> subprocess.CompletedProcess:
    """``tools/train.py CONFIG --work-dir W --cfg-options ...``."""
    args = [PYTHON, 'tools/train.py', config, '--work-dir', work_dir, *extra]
    if cfg_options:
        args += ['--cfg-options', *cfg_options]
    return run_tool(args)


def load_plain(path: str) -> dict:
    """A checkpoint as tools that never import ssl_plugins read it:
    ``torch.load(weights_only=True)`` with torch's own allow-list (our
    ``safe_torch_load`` widens it only for the duration of its load)."""
    widened = [
        g for g in torch.serialization.get_safe_globals()
        if getattr(g, '__module__', '').split('.')[0] in (
            'mmengine', 'mmpretrain', 'numpy', 'ssl_plugins')
    ]
    assert not widened, widened
    return torch.load(path, map_location='cpu', weights_only=True)


def read_scalars(work_dir: str, key: str = 'loss') -> list:
    """Values of ``key`` in the run's ``vis_data/scalars.json`` (train
    only)."""
    import glob
    import json
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    values = []
    for path in paths:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if key in rec:
                    values.append((rec['iter'], rec[key]))
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, fn: Callable, args,
            queue) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    try:
        queue.put((rank, fn(rank, world_size, *args)))
    except Exception:  # report instead of leaving the parent waiting
        import traceback
        queue.put((rank, RuntimeError(traceback.format_exc())))
    finally:
        # every rank done before rank 0, which hosts the store, tears it
        # down: a rank still in its own teardown then aborts (SIGABRT)
        try:
            dist.barrier()
        except RuntimeError:
            pass
        dist.destroy_process_group()


def run_distributed(fn: Callable, world_size: int = 2, args=(),
                    timeout: float = 300) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` gloo processes.

    ``fn`` must be importable (module level) and return picklable results
    (tensors are fine); the results come back ordered by rank.
    """
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    port = free_port()
    procs = [
        ctx.Process(target=_worker,
                    args=(rank, world_size, port, fn, args, queue))
        for rank in range(world_size)
    ]
    for p in procs:
        p.start()
    results = {}
    try:
        for _ in procs:
            rank, value = queue.get(timeout=timeout)
            if isinstance(value, Exception):
                raise AssertionError(f'rank {rank} failed:\n{value}')
            results[rank] = value
    finally:
        for p in procs:
            if p.is_alive() and len(results) < world_size:
                p.terminate()
    for p in procs:
        p.join(60)
        if p.exitcode != 0:
            raise RuntimeError(f'distributed worker exited with {p.exitcode}')
    return [results[r] for r in range(world_size)]


#: The BYOL Fashion-MNIST config the tiny runs of the tests train.
BYOL_FMNIST = ('configs/byol/'
               'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def tiny_byol(data_root: str, *extra: str) -> tuple:
    """``--cfg-options`` of a few-second run of :data:`BYOL_FMNIST` on the
    fake data set (batch 16: 4 iterations per epoch; width 8), then
    ``extra``."""
    return (f'train_dataloader.dataset.data_root={data_root}',
            'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'model.backbone.base_channels=8', 'model.backbone.stem_channels=8',
            'model.neck.in_channels=64', 'model.neck.hid_channels=64',
            'model.head.predictor.hid_channels=64',
            'log_processor.window_size=1', 'default_hooks.logger.interval=1',
            'randomness.seed=0', *extra)


def import_benchmark_extra(name: str):
    """Import ``name``, a package of the benchmark extra
    (``requirements/benchmark.txt``, e.g. lightly): the calling test skips
    without it, except in CI (``CI`` set, as .ci/run runs; .ci/run installs
    the extra), where a missing package fails the test instead."""
    import importlib

    import pytest
    if os.environ.get('CI', '').lower() not in ('', '0', 'false'):
        return importlib.import_module(name)
    return pytest.importorskip(name)


def load_tool(path: str, name: str):
    """A script of the repository (e.g. ``tools/knn_eval.py``) as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
