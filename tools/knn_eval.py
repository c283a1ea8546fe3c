#!/usr/bin/env python
"""Weighted kNN evaluation of a pretrained backbone (InstDisc/DINO protocol).

Extracts L2-normalised features of the train and test splits named by the
config's ``knn_eval`` dict and reports weighted kNN top-1/top-5 accuracy
(T=0.07) for each k. Protocol: BN layers in eval mode with their running
statistics, global-average-pooled last stage.

Examples::

    python tools/knn_eval.py CONFIG work_dirs/byol/epoch_3.pth --random-init
    # both networks of a momentum method, results also as json
    python tools/knn_eval.py CONFIG CKPT --source online target --out knn.json
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch  # noqa: E402

import ssl_plugins  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from ssl_plugins.evaluation.backbone_export import (  # noqa: E402
    SOURCE_PREFIXES, load_backbone_weights)

SOURCES = SOURCE_PREFIXES  # source -> checkpoint key prefixes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='pretraining config (with knn_eval)')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint; omit with --random-init only')
    parser.add_argument('--source', choices=sorted(SOURCES), nargs='+',
                        default=['online'],
                        help='backbone(s) of the checkpoint to evaluate: '
                        'online/student (backbone.*) and/or target/teacher '
                        '(the momentum copy, target.backbone.*). DINO\'s '
                        'published weights are the teacher\'s')
    parser.add_argument('--k', type=int, nargs='+', default=[20, 200])
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--random-init', action='store_true',
                        help='also evaluate a randomly initialised backbone, '
                        'with its BN as initialised and with the BN '
                        'statistics of the train split')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random-init backbone')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='feature-extraction batch size (default: '
                        'knn_eval.batch_size or 512)')
    parser.add_argument('--out', help='also write the results to this json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def load_backbone(backbone, checkpoint, source='online'):
    """Load one backbone of a checkpoint (or an exported backbone file) into
    ``backbone``, strictly; see ``ssl_plugins.evaluation.backbone_export``."""
    load_backbone_weights(backbone, checkpoint, source)


def build_backbone(cfg, seed=0):
    from ssl_plugins.registry import MODELS
    from mmengine.logging import MMLogger
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # no per-parameter initialisation report
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
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
    if args.batch_size:
        cfg.knn_eval.batch_size = args.batch_size
    init_default_scope(cfg.get('default_scope', 'ssl_plugins'))
    rows = []
    if args.random_init:
        from ssl_plugins.evaluation import recalibrate_bn
        from ssl_plugins.registry import DATASETS
        model = build_backbone(cfg, args.seed)
        rows.append(('random init', evaluate(model, cfg, args.k,
                                             args.temperature)))
        # the same weights with BN statistics of the train split (as every
        # trained network has them): the lr-0 control
        recalibrate_bn(model.backbone, model.data_preprocessor,
                       DATASETS.build(cfg.knn_eval.train),
                       cfg.knn_eval.get('batch_size', 512))
        rows.append(('random init, train-split BN stats',
                     evaluate(model, cfg, args.k, args.temperature)))
    for source in (args.source if args.checkpoint else []):
        model = build_backbone(cfg, args.seed)
        try:
            load_backbone(model.backbone, args.checkpoint, source)
        except KeyError as err:
            raise SystemExit(str(err.args[0]))
        rows.append((f'{source} ({osp.basename(args.checkpoint)})',
                     evaluate(model, cfg, args.k, args.temperature)))
    print(f'\nWeighted kNN (T={args.temperature}), test split, features of '
          'the last stage, BN in eval mode:')
    print(f'{"backbone":<40}' + ''.join(f'{"k=" + str(k) + " top1":>12}'
                                        f'{"top5":>8}' for k in args.k))
    for name, res in rows:
        print(f'{name:<40}' + ''.join(
            f'{res[k]["top1"]:>12.2f}{res[k].get("top5", float("nan")):>8.2f}'
            for k in args.k))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                           temperature=args.temperature, k=args.k,
                           protocol='weighted kNN on L2-normalised, '
                           'global-average-pooled last-stage features, BN in '
                           'eval mode, test split',
                           rows=[dict(backbone=name,
                                      **{f'k{k}': res[k] for k in args.k})
                                 for name, res in rows]), f, indent=2)
        print(f'results written to {args.out}')
    return rows


if __name__ == '__main__':
    main()
