#!/usr/bin/env python
"""Kill a training run with SIGKILL at random moments; count what was lost.

Starts ``tools/train.py CONFIG --resume`` in one work folder, kills it after
a random delay, and repeats ``--kills`` times; then lets the last run
finish. After each kill it reports the iteration the run had logged, the
checkpoint ``--resume`` will take (``ssl_plugins.engine.checkpoint_io``)
and the iterations lost in between (trained, then to be trained again).
A kill that leaves no usable checkpoint where one existed before is a
failure (exit code 1). Checkpoints are taken every ``--interval``
iterations (``CheckpointHook(by_epoch=False)``), so with the mid-epoch
resume the loss per kill is below ``--interval`` plus the iterations of
the start-up.

Example (a tiny BYOL on the Fashion-MNIST test split, about 10 min on 2
cores)::

    OMP_NUM_THREADS=1 python benchmarks/kill_runs.py --kills 10
"""
import argparse
import json
import os
import os.path as osp
import random
import signal
import subprocess
import sys

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
sys.path.insert(0, REPO)

CONFIG = ('configs/byol/'
          'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default=CONFIG)
    p.add_argument('--work-dir', default=None)
    p.add_argument('--kills', type=int, default=10)
    p.add_argument('--min-delay', type=float, default=15.0,
                   help='seconds after start (start-up included)')
    p.add_argument('--max-delay', type=float, default=45.0)
    p.add_argument('--interval', type=int, default=10,
                   help='checkpoint every N iterations')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='*', default=[
        # a small, fast run: the 10k test images, batch 64, 6 epochs
        "train_dataloader.dataset.split=test",
        'train_dataloader.batch_size=64', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=6',
        'default_hooks.logger.interval=1'])
    return p.parse_args(argv)


def logged_iteration(work_dir):
    """The last iteration any run in ``work_dir`` logged (0 if none)."""
    last = 0
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    try:
                        last = max(last, json.loads(line).get('iter', 0))
                    except ValueError:  # a line cut by the kill
                        pass
    return last


def resume_iteration(work_dir):
    """(path, iteration) of the checkpoint ``--resume`` takes; raises if
    checkpoints exist and none verifies."""
    import torch

    from ssl_plugins.engine.checkpoint_io import find_resume_checkpoint
    path = find_resume_checkpoint(work_dir, log=lambda *a: None)
    if path is None:
        return None, 0
    meta = torch.load(path, map_location='cpu', weights_only=False)['meta']
    return path, int(meta['iter'])


def main(argv=None):
    args = parse_args(argv)
    rng = random.Random(args.seed)
    work = args.work_dir or osp.join(REPO, 'work_dirs', 'kill_runs')
    os.makedirs(work, exist_ok=True)
    command = [sys.executable, osp.join(REPO, 'tools', 'train.py'),
               args.config, '--work-dir', work, '--resume', '--cfg-options',
               *args.cfg_options, 'default_hooks.checkpoint.by_epoch=False',
               f'default_hooks.checkpoint.interval={args.interval}']
    env = dict(os.environ, PYTHONPATH=REPO)
    rows, failed = [], False
    for kill in range(args.kills + 1):
        log = open(osp.join(work, f'kill_runs_{kill}.log'), 'w')
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        if kill == args.kills:  # the last run finishes
            code = proc.wait()
            print(f'final run: exit code {code}, last iteration '
                  f'{logged_iteration(work)}')
            failed |= code != 0
            break
        delay = rng.uniform(args.min_delay, args.max_delay)
        try:
            code = proc.wait(timeout=delay)
            print(f'run {kill}: ended before its kill (exit {code}; log: '
                  f'{log.name})')
            failed |= code != 0
            break
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        reached = logged_iteration(work)
        try:
            path, resume_at = resume_iteration(work)
        except RuntimeError as err:
            print(f'kill {kill + 1}: NO USABLE CHECKPOINT: {err}')
            failed = True
            break
        rows.append((kill + 1, delay, reached, resume_at, reached - resume_at))
        print(f'kill {kill + 1} after {delay:5.1f} s: logged iteration '
              f'{reached}, resumes from {osp.basename(path or "-")} '
              f'(iteration {resume_at}): {reached - resume_at} lost')
    if rows:
        lost = [r[-1] for r in rows]
        print(f'{len(rows)} kills: iterations lost per kill: max {max(lost)}, '
              f'mean {sum(lost) / len(lost):.1f} (checkpoint interval '
              f'{args.interval}); every kill left a usable checkpoint: '
              f'{not failed}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
