#!/usr/bin/env python
"""Weighted kNN evaluation of a pretrained backbone (InstDisc/DINO protocol).

Extracts L2-normalised features of the train and test splits named by the
config's ``knn_eval`` dict and reports weighted kNN top-1/top-5 accuracy
(T=0.07) for each k. Protocol: BN layers in eval mode with their running
statistics, global-average-pooled last stage.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch  # noqa: E402

import ssl_plugins  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner.checkpoint import _load_checkpoint  # noqa: E402

SOURCES = {'online': 'backbone.', 'student': 'backbone.',
           'target': 'target.backbone.', 'teacher': 'target.backbone.'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='pretraining config (with knn_eval)')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint; omit with --random-init only')
    parser.add_argument('--source', choices=sorted(SOURCES), default='online',
                        help='which backbone of the checkpoint to evaluate')
    parser.add_argument('--k', type=int, nargs='+', default=[20, 200])
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--random-init', action='store_true',
                        help='also evaluate a randomly initialised backbone')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random-init backbone')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def load_backbone(backbone, checkpoint, prefix):
    """Load the ``prefix`` weights of a checkpoint into ``backbone`` (strict)."""
    state = _load_checkpoint(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not sub:
        raise KeyError(f'{checkpoint} has no "{prefix}*" weights; its keys '
                       f'start with {sorted({k.split(".")[0] for k in state})}')
    backbone.load_state_dict(sub, strict=True)


def build_backbone(cfg, seed=0):
    from ssl_plugins.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def evaluate(model, cfg, ks, temperature, backbone=None):
    from ssl_plugins.evaluation import extract_features
    from ssl_plugins.functional.knn import knn_accuracy
    from ssl_plugins.registry import DATASETS
    knn_cfg = cfg.knn_eval
    feats = {}
    for split in ('train', 'test'):
        dataset = DATASETS.build(knn_cfg[split])
        feats[split] = extract_features(backbone or model.backbone,
                                        model.data_preprocessor, dataset,
                                        knn_cfg.get('batch_size', 512),
                                        progress=True)
    return {k: knn_accuracy(*feats['train'], *feats['test'], k=k,
                            temperature=temperature) for k in ks}


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'knn_eval' not in cfg:
        raise KeyError(f'{args.config} has no knn_eval=dict(train=..., '
                       'test=...) naming the labelled splits')
    if args.checkpoint is None and not args.random_init:
        raise SystemExit('give a CHECKPOINT and/or --random-init')
    init_default_scope(cfg.get('default_scope', 'ssl_plugins'))
    rows = []
    if args.random_init:
        model = build_backbone(cfg, args.seed)
        rows.append(('random init', evaluate(model, cfg, args.k,
                                             args.temperature)))
    if args.checkpoint:
        model = build_backbone(cfg, args.seed)
        load_backbone(model.backbone, args.checkpoint, SOURCES[args.source])
        rows.append((f'{args.source} ({osp.basename(args.checkpoint)})',
                     evaluate(model, cfg, args.k, args.temperature)))
    print(f'\nWeighted kNN (T={args.temperature}), test split, features of '
          'the last stage, BN in eval mode:')
    print(f'{"backbone":<40}' + ''.join(f'{"k=" + str(k) + " top1":>12}'
                                        f'{"top5":>8}' for k in args.k))
    for name, res in rows:
        print(f'{name:<40}' + ''.join(
            f'{res[k]["top1"]:>12.2f}{res[k]["top5"]:>8.2f}' for k in args.k))
    return rows


if __name__ == '__main__':
    main()
