#!/usr/bin/env python
"""Evaluate a checkpoint with a config's test loop (e.g. linear-eval
models)."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import ssl_plugins  # noqa: F401  isort: skip (upstream fixes first)
from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument('--out', help='dump the metrics to this json/pkl file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if 'test_dataloader' not in cfg:
        raise KeyError(f'{args.config} has no test_dataloader/test_evaluator: '
                       'pretraining configs are evaluated with '
                       'tools/knn_eval.py or a linear-eval benchmark config')
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
