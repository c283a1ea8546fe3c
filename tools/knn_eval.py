#!/usr/bin/env python
"""kNN and linear-probe evaluation of a pretrained backbone.

Extracts L2-normalised features of the train and test splits named by the
config's ``knn_eval`` dict and reports weighted kNN top-1/top-5 accuracy
(T=0.07; InstDisc/DINO protocol) for each k and, with ``--linear``, the
top-1 of a logistic regression on the cached, standardised features
(``ssl_plugins.evaluation.linear_probe``: L2 strength chosen on a part of the
train split). Protocol: BN layers in eval mode with their running
statistics, global-average-pooled last stage. ``--raw-pixels`` adds the
same two probes on the raw images, the baseline a representation must beat.
``--val N`` evaluates on the last N train images instead of the test split
(kNN bank and probe fit on the others): for choosing recipes without
looking at the test split.

Examples::

    python tools/knn_eval.py CONFIG work_dirs/byol/epoch_3.pth --random-init
    # kNN + linear probe, raw-pixel rows for comparison
    python tools/knn_eval.py CONFIG CKPT --linear --raw-pixels
    # both networks of a momentum method, results also as json
    python tools/knn_eval.py CONFIG CKPT --source online target --out knn.json
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch

import ssl_plugins  # noqa: F401  isort: skip (upstream fixes first)
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from ssl_plugins.evaluation.backbone_export import load_backbone_weights
from ssl_plugins.models.utils.backbone_sources import SOURCE_PREFIXES
from ssl_plugins.utils.cli import existing_file, positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', type=existing_file,
                        help='pretraining config (with knn_eval)')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint; omit with --random-init / '
                        '--raw-pixels only')
    parser.add_argument('--source', choices=sorted(SOURCE_PREFIXES), nargs='+',
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
    parser.add_argument('--batch-size', type=positive_int, default=None,
                        help='feature-extraction batch size (default: '
                        'knn_eval.batch_size or 512)')
    parser.add_argument('--linear', action='store_true',
                        help='also a linear probe (logistic regression on '
                        'the cached, standardised features)')
    parser.add_argument('--raw-pixels', action='store_true',
                        help='also the raw-pixel baseline (kNN, and the '
                        'linear probe with --linear)')
    parser.add_argument('--val', type=int, default=0, metavar='N',
                        help='evaluate on the last N images of the train '
                        'split (bank / probe fit: the others), not on the '
                        'test split; for recipe selection')
    parser.add_argument('--out', help='also write the results to this json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def build_backbone(cfg, seed=0):
    from mmengine.logging import MMLogger

    from ssl_plugins.registry import MODELS
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


def eval_splits(cfg, val=0):
    """The (bank/fit, query) data sets: the config's train and test splits,
    or with ``val`` the train split cut into its first ``len - val`` and
    last ``val`` images (``ssl_plugins.evaluation.probe_splits``)."""
    from ssl_plugins.evaluation import probe_splits
    try:
        return probe_splits(cfg.knn_eval, val)
    except ValueError as err:
        raise SystemExit(f'--val {val}: {err}')


def probe(feats, ks, temperature, linear):
    """kNN accuracies per k of ``feats`` (split -> (features, labels)), and
    the linear probe's top-1 under ``'linear'``."""
    from ssl_plugins.evaluation import linear_probe
    from ssl_plugins.evaluation.knn import knn_accuracy
    res = {k: knn_accuracy(*feats['train'], *feats['test'], k=k,
                           temperature=temperature) for k in ks}
    if linear:
        res['linear'] = linear_probe(*feats['train'], *feats['test'])['top1']
    return res


def split_label(split, val=0):
    """What a split of ``eval_splits`` holds, for the progress lines."""
    if not val:
        return f'{split} split'
    if split == 'train':
        return f'train split without its last {val} images'
    return f'last {val} train images (validation)'


def evaluate(model, cfg, ks, temperature, backbone=None, splits=None,
             linear=False, name='backbone', val=0):
    """Probe results of ``model``'s backbone; before each split's progress
    bar one line names the backbone (``name``) and the split."""
    from ssl_plugins.evaluation import extract_features
    splits = splits or eval_splits(cfg)
    feats = {}
    for split, dataset in splits.items():
        print(f'{name}: features of the {split_label(split, val)} '
              f'({len(dataset)} images)', flush=True)
        feats[split] = extract_features(backbone or model.backbone,
                                        model.data_preprocessor, dataset,
                                        cfg.knn_eval.get('batch_size', 512),
                                        progress=True)
    return probe(feats, ks, temperature, linear)


def compare_with_raw_pixels(rows, k, linear):
    """One line per backbone: its margin over the raw-pixel row (kNN top-1
    at ``k``, and the linear probe), and whether it beats raw pixels."""
    raw = dict(rows)['raw pixels']
    lines = []
    for name, res in rows:
        if name == 'raw pixels':
            continue
        gaps = {f'kNN k={k}': res[k]['top1'] - raw[k]['top1']}
        if linear:
            gaps['linear'] = res['linear'] - raw['linear']
        verdict = ('beats raw pixels' + (' in both probes' if linear else '')
                   if min(gaps.values()) > 0 else
                   'does NOT beat raw pixels in ' + ', '.join(
                       g for g, v in gaps.items() if v <= 0))
        lines.append(f'{name}: ' + ', '.join(
            f'{g} {v:+.2f}' for g, v in gaps.items())
            + f' against raw pixels: {verdict}.')
    return '\n'.join(lines)


def check_writable(path):
    """Stop before any work when ``path`` cannot be written."""
    if osp.isdir(path):
        raise SystemExit(f'--out {path} is a folder; give a json file')
    folder = osp.dirname(osp.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        probe = osp.join(folder, f'.{osp.basename(path)}.tmp')
        with open(probe, 'w'):
            pass
        os.remove(probe)
    except OSError as err:
        raise SystemExit(f'--out {path}: cannot write there ({err})')


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'knn_eval' not in cfg:
        raise KeyError(f'{args.config} has no knn_eval=dict(train=..., '
                       'test=...) naming the labelled splits')
    if args.checkpoint is None and not (args.random_init or args.raw_pixels):
        raise SystemExit('give a CHECKPOINT, --random-init and/or '
                         '--raw-pixels')
    if args.batch_size:
        cfg.knn_eval.batch_size = args.batch_size
    bad = [k for k in args.k if k < 1]
    if bad or args.temperature <= 0:
        raise SystemExit(f'--k must be >= 1 and --temperature > 0, got '
                         f'k={args.k}, temperature={args.temperature}')
    if args.out:  # fail now, not after the evaluation
        check_writable(args.out)
    init_default_scope(cfg.get('default_scope', 'ssl_plugins'))
    splits = eval_splits(cfg, args.val)
    ev = dict(splits=splits, linear=args.linear, val=args.val)
    rows = []
    if args.raw_pixels:
        from ssl_plugins.evaluation import pixel_features
        print('raw pixels ...', flush=True)
        rows.append(('raw pixels', probe(
            {s: pixel_features(d) for s, d in splits.items()}, args.k,
            args.temperature, args.linear)))
    if args.random_init:
        from ssl_plugins.evaluation import recalibrate_bn
        model = build_backbone(cfg, args.seed)
        rows.append(('random init', evaluate(model, cfg, args.k,
                                             args.temperature,
                                             name='random init', **ev)))
        # the same weights with BN statistics of the train split (as every
        # trained network has them): the lr-0 control
        recalibrate_bn(model.backbone, model.data_preprocessor,
                       splits['train'], cfg.knn_eval.get('batch_size', 512))
        name = 'random init, train-split BN stats'
        rows.append((name, evaluate(model, cfg, args.k, args.temperature,
                                    name=name, **ev)))
    for source in (args.source if args.checkpoint else []):
        model = build_backbone(cfg, args.seed)
        try:
            load_backbone_weights(model.backbone, args.checkpoint, source)
        except (KeyError, ValueError, TypeError) as err:
            raise SystemExit(str(err.args[0]))
        except (OSError, RuntimeError) as err:  # missing, corrupt, unsafe
            raise SystemExit(str(err))
        name = f'{source} ({osp.basename(args.checkpoint)})'
        rows.append((name, evaluate(model, cfg, args.k, args.temperature,
                                    name=name, **ev)))
    bank = len(splits['train'])
    split = (f'the last {args.val} train images (validation; bank: the '
             f'other {bank})' if args.val else f'test split (bank: {bank} '
             'train images)')
    eff = [min(k, bank) for k in args.k]
    print(f'\nEvaluated on {split}. Features: the last stage, global-'
          'average-pooled, BN in eval mode.\nWeighted kNN: T = '
          f'{args.temperature}, L2-normalised features'
          + (f'; effective k {eff} (the bank is smaller)' if eff != args.k
             else '') + '.'
          + ('\nLinear probe: logistic regression on the cached, '
             'standardised features (L2 strength chosen on 10% of the bank).'
             if args.linear else ''))
    print(f'{"backbone":<40}' + ''.join(f'{"k=" + str(k) + " top1":>12}'
                                        f'{"top5":>8}' for k in eff)
          + (f'{"linear top1":>13}' if args.linear else ''))
    for name, res in rows:
        print(f'{name:<40}' + ''.join(
            f'{res[k]["top1"]:>12.2f}{res[k].get("top5", float("nan")):>8.2f}'
            for k in args.k)
            + (f'{res["linear"]:>13.2f}' if args.linear else ''))
    if args.raw_pixels:
        print(compare_with_raw_pixels(rows, args.k[0], args.linear))
    if args.out:
        from ssl_plugins.engine.checkpoint_io import atomic_write_text

        # keys and k as evaluated: a k above the bank's size is the bank
        result = dict(config=args.config, checkpoint=args.checkpoint,
                      temperature=args.temperature, k=eff,
                      **({'k_requested': args.k} if eff != args.k else {}),
                      split=split,
                      protocol='weighted kNN on L2-normalised, '
                      'global-average-pooled last-stage features, BN in '
                      'eval mode',
                      rows=[dict(backbone=name,
                                 **{f'k{e}': res[k]
                                    for k, e in zip(args.k, eff)},
                                 **({'linear_top1': res['linear']}
                                    if args.linear else {}))
                            for name, res in rows])
        try:  # a temporary file renamed into place: never a partial json
            atomic_write_text(args.out, json.dumps(result, indent=2))
        except OSError as err:
            raise SystemExit(f'cannot write {args.out} ({err}); the results '
                             'are printed above')
        print(f'results written to {args.out}')
    return rows


if __name__ == '__main__':
    main()
