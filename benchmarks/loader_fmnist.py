#!/usr/bin/env python
"""CPU time of one training batch's augmentations on Fashion-MNIST (28 px).

For each method's Fashion-MNIST config (the ones ``quality.py`` trains),
times on this CPU, in one process and one thread:

- *per image*: the loader pipeline as the config writes it (crops, flips
  and the photometric mmcv ops per image; what mmpretrain's runs use);
- *batched*: what ``quality.py --aug batched`` (the default for ours) runs:
  the loader only crops and flips, and ``BatchedAugmentDataPreprocessor``
  draws the same augmentations on the whole batch (timed in its training
  forward, normalisation included).

Ratio = batched / per image. At 224 px the batched ops cost the CPU more
than the per-image ones (``speed.py``, pipeline section: they are for the
GPU); at 28 px the per-image ops are mostly per-call overhead, and the
batched ones are cheaper. Example::

    OMP_NUM_THREADS=1 python benchmarks/loader_fmnist.py --batch-size 256
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))


def cpu_time(fn, reps):
    """Median process CPU time of ``fn()`` over ``reps`` calls."""
    times = []
    for _ in range(reps):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return sorted(times)[len(times) // 2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--methods', nargs='+', default=None)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--data-root', default=None)
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    import ssl_plugins.utils  # isort: skip (upstream fixes first)
    from mmengine.dataset import default_collate
    from mmengine.registry import init_default_scope

    from benchmarks import quality
    from benchmarks.quality_lib.augment import batched_aug_cfg
    from benchmarks.quality_lib.configs import CONFIGS, load_cfg
    from ssl_plugins.registry import DATASETS, MODELS
    init_default_scope('ssl_plugins')
    ssl_plugins.utils.register_all_modules()
    qargs = quality.parse_args(
        ['--data-root', args.data_root] if args.data_root else [])
    rows = []
    for method in args.methods or list(CONFIGS):
        cfg = load_cfg(method, qargs)
        batched = batched_aug_cfg(load_cfg(method, qargs))
        out = {}
        for name, c in (('per image', cfg), ('batched', batched)):
            ds = DATASETS.build(c.train_dataloader.dataset)
            pre = MODELS.build(c.model.data_preprocessor)

            def load():
                return default_collate(
                    [ds[i] for i in range(args.batch_size)])

            batch = load()
            out[name] = cpu_time(load, args.reps)
            if name == 'batched':
                out['preprocessor'] = cpu_time(
                    lambda: pre(batch, training=True), args.reps)
        total = out['batched'] + out['preprocessor']
        rows.append((method, out['per image'], out['batched'],
                     out['preprocessor'], total / out['per image']))
    print(f'CPU seconds per batch of {args.batch_size} (one thread):')
    print('| method | per image (loader) | batched: loader (crop, flip) | '
          'batched: preprocessor | ratio |')
    print('|---|---|---|---|---|')
    for method, per, crop, pre, ratio in rows:
        print(f'| {method} | {per:.3f} | {crop:.3f} | {pre:.3f} | '
              f'{ratio:.2f} |')
    return rows


if __name__ == '__main__':
    main()
