#!/usr/bin/env python
"""Representation quality in a fixed wall-clock budget: ours vs mmpretrain.

For each method, pretrains ours (the shipped Fashion-MNIST config) and
mmpretrain 1.2's implementation of the same network (same backbone,
projector/predictor sizes, optimizer, data pipeline, seed) on the
Fashion-MNIST train split for the same wall-clock budget each, with the
mmengine Runner (hooks included), then evaluates a weighted kNN (T = 0.07)
on the test split with the backbone's features (BN in eval mode, global
average pool of the last stage, L2-normalised). Baselines: kNN on raw
pixels and on a randomly initialised network. Writes the table into
``docs/benchmarks.md`` (between the ``quality`` markers).

Schedule for a budget: the number of iterations N is estimated from a few
timed iterations, then the run is iteration-based with a 10% linear warm-up
and a cosine decay over N (BYOL's tau schedule over N too), and stops at the
budget even if N is not reached.

Example (what the lead runs: 10 min per method and implementation)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/quality.py --threads 1 \\
        --budget-min 10
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
CONFIGS = {
    'byol': 'configs/byol/byol_resnet18-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py',
    'simsiam':
    'configs/simsiam/simsiam_resnet18-w32-s2_1xb256-coslr-3e_fashion-mnist.py',
    'barlow_twins': 'configs/barlow_twins/'
    'barlowtwins_resnet18-w32-s2-proj2048_1xb256-coslr-3e_fashion-mnist.py',
}
BEGIN, END = '<!-- quality:begin -->', '<!-- quality:end -->'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--methods', nargs='+', default=list(CONFIGS),
                   choices=list(CONFIGS))
    p.add_argument('--impls', nargs='+', default=['ours', 'mmpretrain'],
                   choices=['ours', 'mmpretrain'])
    p.add_argument('--budget-min', type=float, default=10.0,
                   help='wall-clock pretraining budget per method and '
                   'implementation, minutes')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--batch-size', type=int, default=None,
                   help='default: the config\'s (256)')
    p.add_argument('--num-workers', type=int, default=1)
    p.add_argument('--knn-train', type=int, default=None,
                   help='first N train images as the kNN memory bank '
                   '(default: all 60000)')
    p.add_argument('--knn-test', type=int, default=None,
                   help='first N test images (default: all 10000)')
    p.add_argument('--k', type=int, nargs='+', default=[20, 200])
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default=None)
    p.add_argument('--markdown', default=osp.join(REPO, 'docs',
                                                  'benchmarks.md'))
    p.add_argument('--json', default=None)
    return p.parse_args(argv)


def mmpretrain_model(cfg):
    """mmpretrain's implementation of the network of our config."""
    from benchmarks.pairs import METHODS, PRESETS
    method = {'BYOL': 'byol', 'SimSiam': 'simsiam',
              'BarlowTwins': 'barlow_twins'}[cfg.model.type]
    backbone = dict(cfg.model.backbone)
    backbone['type'] = 'mmpretrain.' + backbone['type'].split('.')[-1]
    neck = cfg.model.neck
    proj = dict(byol_hid=neck.hid_channels, byol_out=neck.out_channels,
                simsiam_dim=neck.out_channels, barlow_dim=neck.out_channels)
    if method == 'simsiam':
        proj['simsiam_pred'] = cfg.model.head.predictor.hid_channels
    proj = dict(PRESETS['paper'], **proj)
    _, theirs, _ = METHODS[method][0](backbone, neck.in_channels, proj)
    theirs['data_preprocessor'] = dict(
        cfg.model.data_preprocessor,
        type='mmpretrain.SelfSupDataPreprocessor')
    return theirs


def build_cfg(method, impl, max_iters, work_dir, args):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[method]))
    if impl == 'mmpretrain':
        cfg.model = mmpretrain_model(cfg)
        hooks = [h for h in cfg.get('custom_hooks', [])
                 if h['type'] != 'TargetMomentumHook']  # CosineEMA does it
        cfg.custom_hooks = hooks
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.num_workers = args.num_workers
    cfg.train_dataloader.persistent_workers = args.num_workers > 0
    cfg.train_dataloader.drop_last = True
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    warm = max(1, max_iters // 10)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
             end=warm),
        dict(type='CosineAnnealingLR', by_epoch=False, begin=warm,
             end=max(max_iters, warm + 1), T_max=max(1, max_iters - warm)),
    ]
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook',
                                    interval=max(1, max_iters // 5))
    cfg.auto_scale_lr = dict(enable=True, base_batch_size=256)
    return cfg


class _Budget:
    """Hook: stop after ``seconds`` of training; record iteration times."""

    def __new__(cls, seconds):
        from mmengine.hooks import Hook

        class TimeBudgetHook(Hook):
            priority = 'LOWEST'

            def before_train(self, runner):
                self.start = time.perf_counter()
                self.stamps = []

            def after_train_iter(self, runner, batch_idx, data_batch=None,
                                 outputs=None):
                now = time.perf_counter()
                self.stamps.append(now)
                if now - self.start >= seconds:
                    runner.train_loop.stop_training = True

        return TimeBudgetHook()


def pretrain(method, impl, args, root):
    """Calibrate N, then train for the budget; returns (model, info)."""
    from mmengine.runner import Runner
    budget = args.budget_min * 60
    # calibration: 4 iterations, the last 3 timed
    cal = Runner.from_cfg(build_cfg(method, impl, 4,
                                    osp.join(root, f'{method}-{impl}-cal'),
                                    args))
    hook = _Budget(1e9)
    cal.register_hook(hook)
    cal.train()
    per_iter = (hook.stamps[-1] - hook.stamps[0]) / (len(hook.stamps) - 1)
    max_iters = max(10, int(budget / per_iter))
    del cal
    runner = Runner.from_cfg(build_cfg(
        method, impl, max_iters, osp.join(root, f'{method}-{impl}'), args))
    hook = _Budget(budget)
    runner.register_hook(hook)
    t0 = time.perf_counter()
    runner.train()
    info = dict(planned_iters=max_iters, iters=len(hook.stamps),
                seconds=time.perf_counter() - t0, calib_s_per_iter=per_iter)
    return runner.model, info


def knn_datasets(cfg, args):
    from ssl_plugins.registry import DATASETS
    out = {}
    for split, n in (('train', args.knn_train), ('test', args.knn_test)):
        ds_cfg = dict(cfg.knn_eval[split])
        if n:
            ds_cfg['indices'] = n
        out[split] = DATASETS.build(ds_cfg)
    return out


def knn_of_backbone(model, datasets, args):
    from ssl_plugins.evaluation import extract_features
    from ssl_plugins.functional.knn import knn_accuracy
    feats = {s: extract_features(model.backbone, model.data_preprocessor, ds,
                                 batch_size=500)
             for s, ds in datasets.items()}
    return {k: knn_accuracy(*feats['train'], *feats['test'], k=k)['top1']
            for k in args.k}


def knn_raw_pixels(datasets, args):
    import torch
    from ssl_plugins.functional.knn import knn_accuracy
    feats = {}
    for s, ds in datasets.items():
        xs, ys = [], []
        for i in range(len(ds)):
            item = ds[i]
            xs.append(item['inputs'].float().flatten())
            ys.append(item['data_samples'].gt_label.reshape(()))
        x = torch.stack(xs)
        feats[s] = (x - x.mean(dim=1, keepdim=True), torch.stack(ys))
    return {k: knn_accuracy(*feats['train'], *feats['test'], k=k)['top1']
            for k in args.k}


def write_markdown(path, results, args, env, command):
    ks = args.k
    head = '| backbone | implementation | iterations in budget | ' + ' | '.join(
        f'kNN top-1, k={k}' for k in ks) + ' |'
    lines = [BEGIN, '',
             f'Measured {env["date"]} on {env["cpu"]} ({env["cpus"]} cores, '
             f'shared with other jobs: a *contended* machine), '
             f'{args.threads} torch thread(s); torch {env["torch"]}, '
             f'mmengine {env["mmengine"]}, mmpretrain {env["mmpretrain"]}.',
             f'Budget: **{args.budget_min:g} min of pretraining per method '
             f'and implementation** (wall clock, data loading included); '
             f'kNN memory bank: {args.knn_train or 60000} train images, '
             f'evaluated on {args.knn_test or 10000} test images; weighted '
             f'kNN, T=0.07, BN in eval mode with its running statistics, '
             f'pooled last stage, L2-normalised.', '',
             'Command:', '', '```', command, '```', '', head,
             '|' + '---|' * (3 + len(ks))]
    for row in results:
        lines.append(f'| {row["name"]} | {row["impl"]} | '
                     f'{row.get("iters", "-")} | ' + ' | '.join(
                         f'{row["knn"][k]:.2f}' for k in ks) + ' |')
    lines += ['', END]
    block = '\n'.join(lines)
    from benchmarks.markdown import replace_block
    replace_block(path, BEGIN, END, block)


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    import ssl_plugins  # noqa: F401 (upstream fixes)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from benchmarks.speed import environment
    init_default_scope('ssl_plugins')
    import ssl_plugins.utils
    ssl_plugins.utils.register_all_modules()
    env = environment(argparse.Namespace(threads=args.threads, device='cpu'))
    command = ('OMP_NUM_THREADS=1 nice -n 10 python benchmarks/quality.py '
               + ' '.join(sys.argv[1:] if argv is None else argv))
    root = args.work_dir or tempfile.mkdtemp(prefix='ssl_quality_')
    base_cfg = Config.fromfile(osp.join(REPO, CONFIGS[args.methods[0]]))
    datasets = knn_datasets(base_cfg, args)
    results = []
    print('raw pixels ...', flush=True)
    results.append(dict(name='raw pixels', impl='-',
                        knn=knn_raw_pixels(datasets, args)))
    print(results[-1], flush=True)
    from ssl_plugins.registry import MODELS
    torch.manual_seed(args.seed)
    rnd = MODELS.build(base_cfg.model)
    rnd.init_weights()
    # the init depends on the config (zero_init_residual differs: BYOL's
    # False, SimSiam's / Barlow Twins' True), so the row names it
    results.append(dict(name=f'random init ({args.methods[0]} config)',
                        impl='-',
                        knn=knn_of_backbone(rnd, datasets, args)))
    print(results[-1], flush=True)
    for method in args.methods:
        for impl in args.impls:
            print(f'pretraining {method} ({impl}) for {args.budget_min} min',
                  flush=True)
            model, info = pretrain(method, impl, args, root)
            row = dict(name=method, impl=impl, **info,
                       knn=knn_of_backbone(model, datasets, args))
            results.append(row)
            print(row, flush=True)
            del model
            if args.json:
                with open(args.json, 'w') as f:
                    json.dump(dict(env=env, results=results), f, indent=1)
            write_markdown(args.markdown, results, args, env, command)
    write_markdown(args.markdown, results, args, env, command)
    return results


if __name__ == '__main__':
    main()
