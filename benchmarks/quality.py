#!/usr/bin/env python
"""Representation quality in a fixed wall-clock budget: ours vs mmpretrain.

For each method (BYOL, SimSiam, Barlow Twins, SwAV, DINO), pretrains ours
(the shipped Fashion-MNIST config) and mmpretrain 1.2's implementation of the
same network (same backbone, projector/predictor sizes, optimizer, data
pipeline, seed, and the same recipe hooks: its own ``SwAVHook`` for SwAV) on
the Fashion-MNIST train split for the same wall-clock budget each, with the
mmengine Runner (hooks included), then evaluates a weighted kNN (T = 0.07)
and a linear probe (logistic regression on the cached, standardised
features: ``ssl_plugins.evaluation.linear_probe``) on the test split with the
backbone's features (BN in eval mode, global average pool of the last stage,
L2-normalised; DINO: the teacher's backbone, as the paper and its published
weights). Baselines: both probes on the raw pixels, and
for every method the randomly initialised network of its own config (the
backbones differ: width 16 or 32, ``zero_init_residual``) twice: with its BN
layers as initialised (running mean 0 / variance 1: identities in eval mode)
and with the BN statistics of the train images
(``ssl_plugins.evaluation.recalibrate_bn``; what a pretraining run at lr 0
would give, and how every pretrained network is evaluated: with statistics
of data). Ours runs the shipped config, with its
``ChannelsLastHook``, and with its photometric augmentations on the batch
(``--aug batched``, ``quality_lib.augment.batched_aug_cfg``: same draws,
less CPU on 28 px images); mmpretrain's runs without the hook (NCHW, as its
configs) and with the config's per-image pipeline. DINO: the student's kNN
is recorded too (``knn_student``; a note under the table).
BYOL, SwAV and DINO run on ``ResNet10_CIFAR`` (width 16), our backbone,
which mmpretrain's models are built on as well
(``quality_lib.translate.shared_backbone_type``:
both implementations train the same network). DINO has no
mmpretrain row: mmpretrain 1.2's pip package has no DINO (its repository
keeps one under ``projects/dino/``, which is not installed). Writes the table
into ``docs/benchmarks.md`` (between the ``quality`` markers).

Schedule for a budget: the run is iteration-based (``IterBasedTrainLoop``)
over N iterations, with a 10% linear warm-up and a cosine decay of the lr
over N; N is 2.5x (``quality_lib.training.OVERPLAN``) the iterations a few
timed ones predict. Every iteration-keyed schedule follows the elapsed time:
after each iteration the counter moves on to ``elapsed / budget * N`` where
that is ahead (``TimeBudgetHook(clock=True)``, ``ssl_plugins.engine.hooks``),
so the schedules reach their end when the budget is spent, whatever the
load on the machine (a busy machine trains fewer iterations, not a truncated
schedule). Hooks keyed on iterations run as
configured on that counter: BYOL's and DINO's tau cosine over N (ours:
``TargetMomentumHook``; mmpretrain's ``CosineEMA`` step counter is moved on
with it), SwAV's prototype freezing (ours, and mmpretrain's
``frozen_layers_cfg``) for the config's 20 counted iterations.

Converted for the iteration-based run (under ``IterBasedTrainLoop``
``runner.epoch`` stays 0 and ``before_train_epoch`` runs once, so an
epoch-keyed argument would never fire, or fire for the whole run):

- Other parameter schedules of the config (DINO's weight decay cosine
  0.04 -> 0.4) are kept and compressed onto the budget like the lr: a
  schedule over the config's E_cfg epochs spans N iterations (begin, end,
  T_max scaled by N / E_cfg).
- Epoch-keyed hook arguments (``quality_lib.iterations.EPOCH_ARGS``: SwAV's
  queue start, DINO's last-layer freezing and teacher-temperature warm-up;
  mmpretrain's ``SwAVHook`` queue start) become their iteration-keyed twins at
  ``--epoch-rule budget`` (default): 1 epoch = N / E_cfg iterations, the
  recipe compressed onto the budget as the lr and the schedules above (DINO's
  last layer trains after the first quarter of its 4-epoch config's budget,
  SwAV's queue starts after the first third). ``--epoch-rule data``: 1 epoch
  = len(train set) // batch iterations, after the same amount of data as in
  the shipped recipe (234 iterations at batch 256: in a 6-minute run DINO's
  last layer stayed frozen for 217 of its 217 iterations, and SwAV's queue
  never started). A hook with an epoch-keyed argument not in
  ``EPOCH_ARGS`` stops the script rather than run unconverted.

This file is the command line; the code is in ``benchmarks/quality_lib/``
(``configs``: the run's config; ``iterations``: epoch -> iteration
conversion; ``augment``: ``--aug batched``; ``translate``: mmpretrain's model
and hooks; ``training``: calibration and the budgeted run; ``probes``;
``report``: Markdown, ``--json``, ``--merge``).

Example (what the lead runs: 10 min per method and implementation)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/quality.py --threads 1 \\
        --budget-min 10
"""
import argparse
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

# imports after the path above (isort's wrapping of them is not stable)
# isort: off
from benchmarks.quality_lib.configs import (  # noqa: E402
    CONFIGS, KNN_SOURCE, NO_MMPRETRAIN, REPO, load_cfg)
from benchmarks.quality_lib.probes import (  # noqa: E402
    knn_datasets, probe_backbone, probe_raw_pixels, random_init_knn)
from benchmarks.quality_lib.report import (  # noqa: E402
    describe_backbone, merge, write_json, write_markdown)
from benchmarks.quality_lib.training import pretrain  # noqa: E402
# isort: on


def parse_args(argv=None):
    """The command line; ``args.configs``: method -> config path."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--methods', nargs='+', default=list(CONFIGS),
                   choices=list(CONFIGS))
    p.add_argument('--impls', nargs='+', default=['ours', 'mmpretrain'],
                   choices=['ours', 'mmpretrain'])
    p.add_argument('--config', nargs='+', default=[], metavar='METHOD=PATH',
                   help='replace a method\'s config (path from the '
                   'repository root), e.g. dino=configs/dino/new.py')
    p.add_argument('--budget-min', type=float, default=10.0,
                   help='wall-clock pretraining budget per method and '
                   'implementation, minutes')
    p.add_argument('--iters', type=int, default=None,
                   help='train exactly this many iterations instead of a '
                   'wall-clock budget (no calibration, no time limit): for '
                   'recipe experiments on a busy machine')
    p.add_argument('--aug', choices=['batched', 'per-image'],
                   default='batched',
                   help='ours: photometric augmentations on the batch '
                   '(BatchedAugmentDataPreprocessor; default) or per image '
                   'in the loader as the config writes them; mmpretrain\'s '
                   'runs always use the per-image pipeline')
    p.add_argument('--bf16', action='store_true',
                   help='ours under bf16 autocast (AutocastOptimWrapper), '
                   'row "ours+bf16"; mmpretrain\'s runs are unchanged')
    p.add_argument('--epoch-rule', choices=['data', 'budget'],
                   default='budget',
                   help='one epoch of the epoch-keyed hook arguments: '
                   'len(train set) // batch iterations (data), or the '
                   'planned iterations / the config\'s epochs (budget)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--batch-size', type=int, default=None,
                   help='default: the config\'s (256)')
    p.add_argument('--num-workers', type=int, default=1)
    p.add_argument('--data-root', default=None,
                   help='Fashion-MNIST folder (default: the configs\')')
    p.add_argument('--knn-train', type=int, default=None,
                   help='first N train images as the kNN memory bank '
                   '(default: all 60000)')
    p.add_argument('--knn-test', type=int, default=None,
                   help='first N test images (default: all 10000)')
    p.add_argument('--val', type=int, default=0, metavar='N',
                   help='probe on the last N train images (bank and linear '
                   'fit: the others) instead of the test split: for choosing '
                   'recipes')
    p.add_argument('--k', type=int, nargs='+', default=[20, 200])
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-linear', action='store_true',
                   help='skip the linear probes (kNN only)')
    p.add_argument('--no-baselines', action='store_true',
                   help='skip the raw-pixel and random-init rows (recipe '
                   'experiments; --merge takes them from another run)')
    p.add_argument('--work-dir', default=None)
    p.add_argument('--markdown', default=osp.join(REPO, 'docs',
                                                  'benchmarks.md'))
    p.add_argument('--json', default=None)
    p.add_argument('--merge', nargs='+', default=None, metavar='JSON',
                   help='no training: write the table of these --json files '
                   '(e.g. ours and mmpretrain run as two concurrent '
                   'processes, one per core) into --markdown')
    args = p.parse_args(argv)
    args.configs = dict(CONFIGS)
    for item in args.config:
        method, sep, path = item.partition('=')
        if not sep or method not in CONFIGS:
            p.error(f'--config {item}: expected METHOD=PATH with METHOD in '
                    f'{", ".join(CONFIGS)}')
        args.configs[method] = path
    return args


def main(argv=None):
    """Run the benchmark (or ``--merge``); returns the table's rows."""
    args = parse_args(argv)
    if args.merge:
        return merge(args)
    import torch
    torch.set_num_threads(args.threads)
    import ssl_plugins  # noqa: F401  isort: skip (upstream fixes first)
    from mmengine.registry import init_default_scope

    from benchmarks.speed import environment
    init_default_scope('ssl_plugins')
    import ssl_plugins.utils
    ssl_plugins.utils.register_all_modules()
    env = environment(argparse.Namespace(threads=args.threads, device='cpu',
                                         methods=[], sections=[]))
    command = ('OMP_NUM_THREADS=1 nice -n 10 python benchmarks/quality.py '
               + ' '.join(sys.argv[1:] if argv is None else argv))
    root = args.work_dir or tempfile.mkdtemp(prefix='ssl_quality_')
    datasets = knn_datasets(load_cfg(args.methods[0], args), args)
    results = []

    def report(row):
        results.append(row)
        print(row, flush=True)
        if args.json:
            write_json(args.json, env, results, command, args)
        write_markdown(args.markdown, results, args, env, command)

    if not args.no_baselines:
        print('raw pixels ...', flush=True)
        report(dict(name='raw pixels', impl='-',
                    **probe_raw_pixels(datasets, args)))
    random_init = {}
    for method in args.methods:
        cfg = load_cfg(method, args)
        # the init depends on the config (width; zero_init_residual: BYOL's
        # and SwAV's False, SimSiam's / Barlow Twins' True)
        if not args.no_baselines:
            knn = random_init_knn(cfg, datasets, args, random_init)
            net = describe_backbone(cfg.model.backbone)
            report(dict(name=method, impl=f'random init ({net}; BN as '
                        'initialised)', **knn['init']))
            report(dict(name=method, impl=f'random init ({net}; BN '
                        'statistics of the train images)', **knn['data']))
        for impl in args.impls:
            if impl == 'mmpretrain' and method in NO_MMPRETRAIN:
                report(dict(name=method, impl=impl, iters='n/a', knn=None,
                            note=NO_MMPRETRAIN[method]))
                continue
            print(f'pretraining {method} ({impl}) for {args.budget_min} min',
                  flush=True)
            model, info = pretrain(method, impl, args, root)
            source = KNN_SOURCE.get(method)
            label = impl + ('+bf16' if impl == 'ours' and args.bf16 else '')
            row = dict(name=method,
                       impl=label + (f' ({source})' if source else ''),
                       **info, **probe_backbone(model, datasets, args,
                                                source))
            if source:  # the online / student network too, for the notes
                student = probe_backbone(model, datasets, args)
                row['knn_student'] = student['knn']
                row['linear_student'] = student['linear']
            report(row)
            del model
    return results


if __name__ == '__main__':
    main()
