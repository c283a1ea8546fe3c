#!/usr/bin/env python
"""Train a self-supervised model (mmpretrain's tools/train.py conventions)."""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import ssl_plugins  # noqa: F401  isort: skip (upstream fixes first)
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from ssl_plugins.compat.config_variables import (explain,
                                                 stale_variable_overrides)
from ssl_plugins.engine.checkpoint_io import (find_resume_checkpoint,
                                              verify_checkpoint)
from ssl_plugins.engine.hooks.heartbeat_hook import explain_collective_timeout
from ssl_plugins.utils.cli import existing_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', type=existing_file,
                        help='train config file path')
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
        '--compile',
        nargs='?',
        const='inductor',
        metavar='BACKEND',
        help='compile the training step with torch.compile (mmengine\'s '
        'compile=True); optional backend, default inductor (aot_eager: '
        'tracing only, no code generation)')
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


def check_variable_overrides(cfg: Config, args) -> None:
    """Stop if ``--cfg-options`` changes a variable the config already used.

    ``--cfg-options max_epochs=1`` on a config that wrote
    ``train_cfg = dict(max_epochs=max_epochs)`` changes only the top-level
    ``max_epochs``, which nothing reads. We stop and name the fields to set
    rather than re-apply the value ourselves: the config's expressions were
    evaluated once when mmengine read the file (``max_epochs - 0.3``,
    ``{{_base_.max_epochs}}``, fields a child config overrides), so
    rewriting the fields we can find could silently change one the user's
    config had deliberately set otherwise, and matching by value would hit
    unrelated fields holding the same number. Setting every listed field in
    the same ``--cfg-options`` is accepted.

    Args:
        cfg (Config): The config before the options are merged.
        args (argparse.Namespace): Parsed arguments.

    Raises:
        SystemExit: With the message naming the fields.
    """
    if not args.cfg_options:
        return
    before = dict(cfg.items())  # top-level values as the file left them
    stale = stale_variable_overrides(args.config, before, args.cfg_options)
    if stale:
        raise SystemExit(explain(stale, before, args.cfg_options))


def merge_args(cfg: Config, args, notes: Optional[List[str]] = None
               ) -> Config:
    """Fold the command-line arguments into the config.

    Args:
        cfg (Config): The config read from ``args.config``.
        args (argparse.Namespace): Parsed arguments.
        notes (list[str], optional): Collects the one-line notes on what was
            changed for this machine (``--amp`` without CUDA); printed here
            when None.

    Returns:
        Config: ``cfg``, updated.
    """
    if notes is None:
        notes = _PrintList()
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        check_variable_overrides(cfg, args)
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if not torch.cuda.is_available():
            # mmengine's AmpOptimWrapper (fp16 + loss scaling) is GPU-only;
            # bf16 autocast needs no scaler and runs on the CPU
            if optim_wrapper != 'AutocastOptimWrapper':
                for key in ('loss_scale', 'use_fsdp'):
                    cfg.optim_wrapper.pop(key, None)
                cfg.optim_wrapper.type = 'AutocastOptimWrapper'
                cfg.optim_wrapper.dtype = 'bfloat16'
            notes.append(
                '--amp without CUDA: mixed precision by bf16 autocast on the '
                'CPU (AutocastOptimWrapper, dtype='
                f"{cfg.optim_wrapper.get('dtype', 'bfloat16')}) instead of "
                'AmpOptimWrapper (fp16, GPU only)')
        elif optim_wrapper != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.compile is not None:
        # mmengine's Runner passes cfg.compile to torch.compile(train_step)
        compile_cfg = cfg.get('compile', None)
        compile_cfg = dict(compile_cfg) if isinstance(compile_cfg,
                                                      dict) else {}
        compile_cfg['backend'] = args.compile
        cfg.compile = compile_cfg
    if args.launcher != 'none' and not torch.cuda.is_available():
        # ssl_plugins.compat initialises gloo without CUDA whatever the config
        # says; the config (dumped and logged) says so too
        cfg.setdefault('env_cfg', dict())
        cfg.env_cfg.setdefault('dist_cfg', dict())
        if cfg.env_cfg.dist_cfg.get('backend', 'nccl') == 'nccl':
            cfg.env_cfg.dist_cfg.backend = 'gloo'
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


class _PrintList(list):
    """A list that prints what is appended (``merge_args`` without notes)."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)


def main(argv=None):
    args = parse_args(argv)
    notes: List[str] = []
    cfg = merge_args(Config.fromfile(args.config), args, notes)
    runner = Runner.from_cfg(cfg)
    for line in notes:  # console (rank 0) and the run's log file
        runner.logger.info(line)
    try:
        runner.train()
    except Exception as err:
        message = explain_collective_timeout(err)
        if message:
            print(message, file=sys.stderr, flush=True)
        raise
    finish_distributed()


def finish_distributed() -> None:
    """After a distributed run: wait for every rank, then shut the process
    group down.

    Rank 0 may still be writing the last checkpoint when the other ranks
    leave the train loop. A rank that exits with its process group still
    up races the group's threads at interpreter shutdown; under gloo this
    was seen to abort the process ("terminate called without an active
    exception", SIGABRT) after a complete run, so the launcher reported a
    failure. The barrier keeps every rank alive until rank 0 is done, and
    ``destroy_process_group`` (as torch asks of every program) joins those
    threads before exit.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
