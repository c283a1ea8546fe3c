#!/usr/bin/env python
"""End-to-end training throughput with three input pipelines.

For BYOL (2 x 224) and SwAV (2 x 224 + 6 x 96), on a folder of generated
JPEGs of ImageNet-like size (500 x 375, a quarter of them portrait), img/s
of training *including loading*, i.e. a DataLoader with ``--workers``
worker processes feeding ``model.train_step`` (data preprocessor, forward,
backward, optimizer step):

- ``mmpretrain``: mmpretrain 1.2's own pipeline, read from its config files
  (``byol_resnet50_16xb256-coslr-200e_in1k.py``,
  ``swav_resnet50_8xb32-mcrop-coslr-200e_in1k-224px-96px.py``): workers
  decode (pillow), crop, flip and run the photometric ops per image;
  ``SelfSupDataPreprocessor``.
- ``ours``: workers only read the bytes (``LoadImageBytes`` +
  ``PackEncodedImage``); ``DeviceDecodeCropPreprocessor`` decodes the batch
  (nvJPEG on CUDA), cuts every crop with one batched resampling per size,
  flips and runs the batched photometric ops with the same settings.
- ``compute``: the same step on random uint8 views already on the device
  (no loading, no augmentation): the ceiling.

Same model and optimizer in all three (our BYOL / SwAV from
``benchmarks/pairs.py`` on ``--arch``; channels_last weights and views with
``--channels-last``, bf16 autocast with ``--bf16``). Prints img/s, the ratio
to the ceiling and ours / mmpretrain. Examples::

    # GPU (ImageNet ResNet-18, batch 256; benchmarks/gpu.sh runs this)
    python benchmarks/device_pipeline.py --device cuda --workers 14 \\
        --images 2048 --batch-size 256 --channels-last --bf16
    # tiny CPU smoke run
    OMP_NUM_THREADS=1 python benchmarks/device_pipeline.py --threads 1 \\
        --arch tiny --images 8 --batch-size 4 --warmup 1 --iters 2 \\
        --workers 0
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time
import warnings

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]

#: mmpretrain's configs of each method, relative to its ``.mim/configs``.
MMPRETRAIN_CONFIGS = {
    'byol': 'byol/byol_resnet50_16xb256-coslr-200e_in1k.py',
    'swav': 'swav/swav_resnet50_8xb32-mcrop-coslr-200e_in1k-224px-96px.py',
}

#: Our equivalent of each pipeline: crops of the loader, photometric groups
#: of the preprocessor (BYOL Table 6; SwAV's config: jitter 0.8/0.2, blur
#: 0.5, no solarisation, the same for every view).
OURS = {
    'byol': dict(num_crops=(2, ), crop_sizes=(224, ),
                 crop_scales=((0.08, 1.), ),
                 view_augments=[dict(num_views=1, blur_prob=1.0,
                                     solarize_prob=0.0),
                                dict(num_views=1, blur_prob=0.1,
                                     solarize_prob=0.2)]),
    'swav': dict(num_crops=(2, 6), crop_sizes=(224, 96),
                 crop_scales=((0.14, 1.), (0.05, 0.14)),
                 view_augments=[dict(num_views=8, brightness=0.8,
                                     contrast=0.8, saturation=0.8, hue=0.2,
                                     blur_prob=0.5, solarize_prob=0.0)]),
}

#: Backbones: (config, output channels, projector sizes for pairs.py).
ARCHS = {
    'resnet18': (dict(type='mmpretrain.ResNet', depth=18,
                      norm_cfg=dict(type='BN')), 512, {}),
    # A CPU-sized stand-in: ResNet-18 layout, 8 stem/base channels.
    'tiny': (dict(type='mmpretrain.ResNet', depth=18, stem_channels=8,
                  base_channels=8, norm_cfg=dict(type='BN')), 64,
             dict(byol_hid=256, byol_out=64, swav_hid=256, swav_out=64,
                  swav_prototypes=100)),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--methods', nargs='+', default=['byol', 'swav'],
                   choices=sorted(OURS))
    p.add_argument('--pipelines', nargs='+',
                   default=['mmpretrain', 'ours', 'compute'],
                   choices=['mmpretrain', 'ours', 'compute'])
    p.add_argument('--device', default=None,
                   help='cuda if available, else cpu')
    p.add_argument('--arch', default=None, choices=sorted(ARCHS),
                   help='resnet18 on cuda, tiny on cpu')
    p.add_argument('--images', type=int, default=512,
                   help='number of generated JPEGs')
    p.add_argument('--image-size', type=int, nargs=2, default=(500, 375),
                   metavar=('W', 'H'))
    p.add_argument('--quality', type=int, default=90, help='JPEG quality')
    p.add_argument('--data-dir', default=None,
                   help='reuse/keep the JPEGs here (default: a temp folder)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--workers', type=int, default=min(8, os.cpu_count()))
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--iters', type=int, default=10)
    p.add_argument('--threads', type=int, default=None,
                   help='torch threads of the main process')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--channels-last', action='store_true',
                   help='model weights in channels_last (the GPU configs\' '
                   'ChannelsLastHook) in all three pipelines; our '
                   'preprocessor also returns channels_last views')
    p.add_argument('--bf16', action='store_true',
                   help='bf16 autocast (AutocastOptimWrapper), in all three '
                   'pipelines')
    p.add_argument('--json', default=None, help='write the results here')
    return p.parse_args(argv)


def make_jpegs(folder, n, size, quality, seed):
    """Write ``n`` JPEGs of about ``size`` (W, H); a quarter portrait.

    Content: upsampled colour noise (large structures) plus fine noise, so
    that files are of the order of ImageNet's (about 85 KB at 500 x 375 and
    quality 90, where ImageNet's average is ~110 KB): decoding costs about
    as much.
    """
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    w, h = size
    for i in range(n):
        path = osp.join(folder, f'{i:06d}.jpg')
        if osp.exists(path):
            continue
        iw, ih = (h, w) if i % 4 == 3 else (w, h)
        small = rng.integers(0, 256, (ih // 16, iw // 16, 3), dtype=np.uint8)
        img = cv2.resize(small, (iw, ih), interpolation=cv2.INTER_CUBIC)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0,
                      255).astype(np.uint8)
        cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return folder


def mmpretrain_pipeline(method):
    """mmpretrain's training pipeline and data preprocessor of ``method``,
    from the config file installed with mmpretrain."""
    import mmpretrain
    from mmengine.config import Config
    path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                    MMPRETRAIN_CONFIGS[method])
    if not osp.exists(path):
        raise FileNotFoundError(f'mmpretrain config not installed: {path}')
    cfg = Config.fromfile(path)
    return (cfg.train_dataloader.dataset.pipeline,
            cfg.get('data_preprocessor') or cfg.model.data_preprocessor)


def build_model(method, args, data_preprocessor):
    import torch

    from benchmarks import pairs
    from ssl_plugins.registry import MODELS
    backbone, channels, proj = ARCHS[args.arch]
    ours_cfg, _, _ = getattr(pairs, method)(backbone, channels, proj)
    ours_cfg['data_preprocessor'] = data_preprocessor
    torch.manual_seed(args.seed)
    model = MODELS.build(ours_cfg)
    model.init_weights()
    model.to(args.device).train()
    if args.channels_last:
        import torch
        model.to(memory_format=torch.channels_last)
    return model


def build_loader(folder, pipeline, args, scope):
    import torch
    from mmengine.dataset import default_collate
    from mmengine.registry import DefaultScope

    from ssl_plugins.registry import DATASETS
    with DefaultScope.overwrite_default_scope(scope):
        dataset = DATASETS.build(dict(type='mmpretrain.CustomDataset',
                                      data_root=folder, with_label=False,
                                      pipeline=pipeline))
    g = torch.Generator().manual_seed(args.seed)
    return torch.utils.data.DataLoader(
        dataset, batch_size=args.batch_size, shuffle=True, generator=g,
        num_workers=args.workers, collate_fn=default_collate,
        pin_memory=str(args.device).startswith('cuda'), drop_last=True,
        persistent_workers=args.workers > 0)


def _sync(device):
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def _batches(loader):
    while True:  # epochs, until the caller stops
        yield from loader


def run(model, batches, args):
    """Train ``warmup + iters`` steps; img/s and the share of the timed
    wall time spent waiting for the loader."""
    from mmengine.optim import OptimWrapper

    from benchmarks.pairs import make_optimizer
    from ssl_plugins.engine.optimizers import AutocastOptimWrapper
    method = type(model).__name__.lower()
    wrapper = (AutocastOptimWrapper if args.bf16 else OptimWrapper)(
        optimizer=make_optimizer(method, model.parameters()))
    wait = 0.0
    for it in range(args.warmup + args.iters):
        if it == args.warmup:
            _sync(args.device)
            t0, wait = time.perf_counter(), 0.0
        t = time.perf_counter()
        batch = next(batches)
        wait += time.perf_counter() - t
        model.train_step(batch, wrapper)
    _sync(args.device)
    elapsed = time.perf_counter() - t0
    return dict(img_per_s=args.iters * args.batch_size / elapsed,
                loader_wait=wait / elapsed)


def random_views(method, args):
    import torch
    g = torch.Generator().manual_seed(args.seed)
    cfg = OURS[method]
    views = [torch.randint(0, 256, (args.batch_size, 3, s, s), generator=g,
                           dtype=torch.uint8).to(args.device)
             for n, s in zip(cfg['num_crops'], cfg['crop_sizes'])
             for _ in range(n)]
    return dict(inputs=views, data_samples=None)


def bench_method(method, folder, args):
    res = {}
    if 'mmpretrain' in args.pipelines:
        pipeline, pre = mmpretrain_pipeline(method)
        loader = build_loader(folder, pipeline, args, 'mmpretrain')
        pre = dict(pre, type='mmpretrain.' + pre['type'].split('.')[-1])
        res['mmpretrain'] = run(build_model(method, args, pre),
                                _batches(loader), args)
        del loader
    if 'ours' in args.pipelines:
        pipeline = [dict(type='LoadImageBytes'),
                    dict(type='PackEncodedImage')]
        loader = build_loader(folder, pipeline, args, 'ssl_plugins')
        pre = dict(type='DeviceDecodeCropPreprocessor', mean=MEAN, std=STD,
                   channels_last=args.channels_last, **OURS[method])
        res['ours'] = run(build_model(method, args, pre), _batches(loader),
                          args)
        del loader
    if 'compute' in args.pipelines:
        pre = dict(type='mmpretrain.SelfSupDataPreprocessor', mean=MEAN,
                   std=STD)
        batch = random_views(method, args)

        def same_batch():
            while True:
                yield batch
        res['compute'] = run(build_model(method, args, pre), same_batch(),
                             args)
    ceiling = res.get('compute', {}).get('img_per_s')
    for r in res.values():
        r['of_compute'] = r['img_per_s'] / ceiling if ceiling else None
    if 'mmpretrain' in res and 'ours' in res:
        res['ours_over_mmpretrain'] = (res['ours']['img_per_s']
                                       / res['mmpretrain']['img_per_s'])
    return res


def print_table(results, args):
    flags = (('channels_last', args.channels_last), ('bf16', args.bf16))
    opts = ''.join(f', {name}' for name, on in flags if on)
    print(f'\nEnd-to-end training img/s ({args.device}, arch {args.arch}'
          f'{opts}, batch {args.batch_size}, {args.workers} loader workers, '
          f'{args.iters} timed iterations after {args.warmup})')
    print(f"{'method':8} {'pipeline':11} {'img/s':>9} {'of compute':>11} "
          f"{'loader wait':>12}")
    for method, res in results.items():
        for name in ('mmpretrain', 'ours', 'compute'):
            if name not in res:
                continue
            r = res[name]
            of = ('' if r['of_compute'] is None else
                  f"{r['of_compute']:.2f}")
            print(f"{method:8} {name:11} {r['img_per_s']:9.1f} {of:>11} "
                  f"{100 * r['loader_wait']:11.0f}%")
        if 'ours_over_mmpretrain' in res:
            print(f"{method:8} ours / mmpretrain = "
                  f"{res['ours_over_mmpretrain']:.2f}x")


def main(argv=None):
    args = parse_args(argv)
    import torch
    warnings.filterwarnings('ignore', category=DeprecationWarning,
                            module='torchvision')
    warnings.filterwarnings('ignore', message='.*torchvision.*deprecated')
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.arch is None:
        args.arch = 'resnet18' if args.device.startswith('cuda') else 'tiny'
    torch.manual_seed(args.seed)
    import ssl_plugins.utils  # isort: skip (upstream fixes first)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('device_pipeline', log_level='WARNING')
    ssl_plugins.utils.register_all_modules(init_default_scope=True)
    need = max(args.images, args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_jpegs(args.data_dir or tmp, need, args.image_size,
                            args.quality, args.seed)
        sizes = [os.path.getsize(osp.join(folder, f))
                 for f in sorted(os.listdir(folder))[:need]]
        print(f'{need} JPEGs in {folder}, '
              f'mean {sum(sizes) / len(sizes) / 1e3:.0f} KB')
        results = {}
        for method in args.methods:  # a cut-off run keeps what it has
            results[method] = bench_method(method, folder, args)
            print_table({method: results[method]}, args)
            if args.json:
                tmp = args.json + '.tmp'
                with open(tmp, 'w') as f:
                    json.dump(dict(args=vars(args), results=results,
                                   torch=torch.__version__), f, indent=1)
                os.replace(tmp, args.json)
    return results


if __name__ == '__main__':
    main()
