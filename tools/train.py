#!/usr/bin/env python
"""Train a self-supervised model (mmpretrain's tools/train.py conventions)."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import ssl_plugins  # noqa: E402,F401  (applies the upstream fixes)
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from ssl_plugins.engine.checkpoint_io import (  # noqa: E402
    find_resume_checkpoint, verify_checkpoint)
from ssl_plugins.engine.hooks.heartbeat_hook import (  # noqa: E402
    explain_collective_timeout)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the latest checkpoint of the work dir (no value or '
        '"auto") or from the given checkpoint path')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by actual/base batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. '
        'train_dataloader.batch_size=64')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Fold the command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        # the newest checkpoint of the work dir that verifies (its .sha256),
        # rather than whatever last_checkpoint names (docs/reliability.md)
        try:
            found = find_resume_checkpoint(cfg.work_dir, log=print)
        except RuntimeError as err:
            raise SystemExit(str(err))
        cfg.resume = found is not None
        cfg.load_from = found
        if found is None:
            print(f'resume: no checkpoint in {cfg.work_dir}; starting from '
                  'scratch')
    elif args.resume is not None:
        ok, reason = verify_checkpoint(args.resume)
        if not ok:
            raise SystemExit(f'--resume {args.resume}: {reason}')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(f'--auto-scale-lr: {args.config} has no '
                           'auto_scale_lr=dict(base_batch_size=...)')
        cfg.auto_scale_lr.enable = True
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    except Exception as err:
        message = explain_collective_timeout(err)
        if message:
            print(message, file=sys.stderr, flush=True)
        raise


if __name__ == '__main__':
    main()
