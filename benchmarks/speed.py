#!/usr/bin/env python
"""Speed and memory of ssl_plugins vs mmpretrain 1.2 (and lightly 1.6 for
DINO), side by side in one run.

Sections (``--sections``):

- ``train``: for each method, ours and the reference implementation
  (mmpretrain's; for DINO, lightly's head, loss and teacher update,
  ``benchmarks/lightly_dino.py``) on the same backbone, projector, loss,
  batch, views, seed and weights; one training iteration = data
  preprocessor + forward + backward + optimizer step (+ the per-iteration
  momentum schedule: our ``TargetMomentumHook``'s call, mmpretrain's
  ``CosineEMA`` reading the MessageHub, lightly's ``cosine_schedule`` +
  ``update_momentum``; + gradient clipping where the recipe has it: DINO).
  The two run interleaved (alternating which goes first), so the ratio
  ours/theirs is measured under the same machine load. Reports the median
  iteration time after warm-up, the ratio, the peak memory of a step and the
  loss of the first step of both (on our scale). ``--compile`` adds the
  train step compiled as mmengine's ``compile=True`` does it
  (``torch.compile(model.train_step)``, backend ``--compile-backend``,
  inductor by default) for ours (``ours+compile``) and for the reference
  (``mmpretrain+compile``; left out with a note if it fails): the warm-up
  (3 iterations by default) holds the compilation; every ratio stays
  relative to the *eager* reference, and one line per method gives compiled
  ours over the eager and over the compiled reference.
- ``pipeline``: CPU time per sample of the data pipelines, ours
  (``MultiCrop`` + per-view photometric ops) vs mmpretrain's
  (``MultiView`` of ``RandomResizedCrop`` + ``RandomFlip`` + the same
  photometric ops), for BYOL's two views and SwAV's 2x224 + 6x96
  multi-crop; and ours with the photometric ops moved to the batched data
  preprocessor (the loader only crops and flips).
- ``ema``: one EMA update of a ResNet-50 target, ours (one foreach op) vs a
  per-parameter loop vs mmengine's ``CosineEMA.update_parameters``
  (mmpretrain's BYOL).

Peak memory: on CUDA, ``max_memory_allocated`` during the step minus the
allocation before it; on CPU, the process's peak RSS during the step
(``VmHWM`` after resetting it through ``/proc/self/clear_refs``) minus the RSS
before it. Both plus the bytes of the model's resident state (parameters,
gradients, buffers, optimizer state), so that the figure is this model's own
peak even though both models live in the process. On CPU the script re-runs
itself with ``MALLOC_MMAP_THRESHOLD_`` fixed so freed tensors go back to the
OS and do not hide the next model's allocations.

Example (CPU, one thread, Fashion-MNIST-sized network)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/speed.py --threads 1
"""
import argparse
import gc
import json
import math
import os
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

MMAP_ENV = 'MALLOC_MMAP_THRESHOLD_'


#: Options a variant of ours combines (canonical order of its name).
OPTIONS = ('compile', 'channels_last', 'bf16')

#: Dense bf16 tensor-core peak (TFLOP/s) by ``torch.cuda.get_device_name()``,
#: for the MFU column: NVIDIA's H100 / H200 SXM datasheets give 1,979 TFLOP/s
#: with 2:4 sparsity, i.e. 989.4 dense; the A100 datasheet 312.
PEAK_BF16_TFLOPS = {
    'NVIDIA H200': 989.4,
    'NVIDIA H100 80GB HBM3': 989.4,
    'NVIDIA A100-SXM4-80GB': 312.0,
    'NVIDIA A100-SXM4-40GB': 312.0,
}


def _variant(text):
    """``'bf16+compile'`` -> ``'compile+bf16'``: a variant's options in
    :data:`OPTIONS` order; an unknown option is an error naming it."""
    opts = [o for o in text.split('+') if o]
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown or not opts:
        raise argparse.ArgumentTypeError(
            f'variant {text!r}: unknown option(s) {unknown}; combine '
            f'{", ".join(OPTIONS)} with "+"')
    return '+'.join(o for o in OPTIONS if o in opts)


def variant_names(args):
    """Names of our variants, ``'ours+<options>'``: ``--channels-last``,
    ``--bf16`` (and both together), ``--compile``, then ``--variants``."""
    wanted = []
    if args.channels_last:
        wanted.append('channels_last')
    if args.bf16:
        wanted.append('bf16')
    if args.channels_last and args.bf16:
        wanted.append('channels_last+bf16')
    if getattr(args, 'compile', False):
        wanted.append('compile')
    wanted += getattr(args, 'variants', [])
    names = []
    for v in wanted:
        if 'ours+' + v not in names:
            names.append('ours+' + v)
    return names


def options_of(name):
    """The options of an implementation's name: ``'ours+compile+bf16'`` ->
    ``{'compile', 'bf16'}``; ``'mmpretrain'`` -> ``set()``."""
    return set(name.split('+')[1:])


def parse_args(argv=None):
    from benchmarks.pairs import BACKBONES, METHODS, PRESETS
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sections', nargs='+', default=['train', 'pipeline',
                                                     'ema'],
                   choices=['train', 'pipeline', 'ema'])
    p.add_argument('--methods', nargs='+', default=None,
                   choices=list(METHODS),
                   help='default: all whose reference is installed (DINO '
                   'needs lightly, requirements/benchmark.txt)')
    p.add_argument('--device', default='cpu', help='cpu or cuda')
    p.add_argument('--threads', type=int, default=1,
                   help='torch intra-op threads (1 on a shared machine)')
    p.add_argument('--arch', choices=list(BACKBONES), default=None,
                   help='default: resnet18-w32-s2 on CPU, resnet18 on CUDA')
    p.add_argument('--img-size', type=int, default=None,
                   help='global view side; default: the backbone\'s')
    p.add_argument('--batch-size', type=int, default=None,
                   help='default 64 on CPU, 128 on CUDA')
    p.add_argument('--preset', choices=list(PRESETS), default=None,
                   help='projector sizes; default fmnist on CPU, paper on '
                   'CUDA')
    p.add_argument('--iters', type=int, default=10,
                   help='timed iterations per implementation')
    p.add_argument('--warmup', type=int, default=None,
                   help='untimed iterations first; default 2, 3 with '
                   'compiled variants (the compilation and a possible '
                   'recompilation)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--channels-last', action='store_true',
                   help='also time ours with channels_last memory format')
    p.add_argument('--bf16', action='store_true',
                   help='also time ours under bf16 autocast')
    p.add_argument('--compile', action='store_true',
                   help='also time the compiled train_step (as mmengine\'s '
                   'compile=True) of ours and of the reference; ratios stay '
                   'relative to the eager reference')
    p.add_argument('--compile-backend', default='inductor',
                   help='torch.compile backend of --compile and of compiled '
                   '--variants')
    p.add_argument('--variants', nargs='+', default=[], type=_variant,
                   metavar='V',
                   help='more variants of ours to time, each a "+"-joined '
                   'set of ' + ', '.join(OPTIONS) + ', e.g. '
                   'compile+channels_last+bf16 (issue 20\'s GPU row)')
    p.add_argument('--peak-tflops', type=float, default=None,
                   help='the chip\'s dense bf16 peak (TFLOP/s) for the MFU '
                   'column; default: the GPUs of PEAK_BF16_TFLOPS, none on '
                   'a CPU')
    p.add_argument('--pipeline-samples', type=int, default=40)
    p.add_argument('--pipeline-img', type=int, nargs=2, default=[375, 500],
                   help='source image H W for the pipeline section')
    p.add_argument('--ema-reps', type=int, default=20)
    p.add_argument('--json', help='also write the results here')
    p.add_argument('--markdown', help='write the tables into this file '
                   '(between the speed markers), e.g. docs/benchmarks.md')
    return p.parse_args(argv)


# ----------------------------------------------------------------- memory
def _status_kb(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


class PeakMemory:
    """Peak extra memory (bytes) of a block, CPU (RSS) or CUDA."""

    def __init__(self, device):
        self.cuda = str(device).startswith('cuda')

    def __enter__(self):
        import torch
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated()
        else:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # reset VmHWM to the current RSS
            self.start = _status_kb('VmRSS') * 1024
        return self

    def __exit__(self, *exc):
        import torch
        if self.cuda:
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.start
        else:
            self.peak = _status_kb('VmHWM') * 1024 - self.start
        return False


def state_bytes(model, optimizer) -> int:
    """Bytes of parameters, gradients, buffers and optimizer state."""
    import torch
    seen, total = set(), 0

    def add(t):
        nonlocal total
        if isinstance(t, torch.Tensor):
            key = t.untyped_storage().data_ptr()
            if key not in seen:
                seen.add(key)
                total += t.untyped_storage().nbytes()

    for p in model.parameters():
        add(p)
        add(p.grad)
    for b in model.buffers():
        add(b)
    for state in optimizer.state.values():
        for v in state.values():
            add(v)
    return total


# ----------------------------------------------------------------- train
def _sync(device):
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def make_batch(method, batch_size, img_size, device, seed):
    import torch

    from benchmarks.pairs import METHODS
    g = torch.Generator().manual_seed(seed)
    views = []
    for rel, n in METHODS[method][1]:
        side = max(8, int(round(img_size * rel)))
        views += [torch.randint(0, 256, (batch_size, 3, side, side),
                                generator=g, dtype=torch.uint8)
                  for _ in range(n)]
    return dict(inputs=[v.to(device) for v in views], data_samples=None)


def build_pair(method, args):
    """``{name: (model, optim wrapper)}`` for ours, the reference (named
    ``METHODS[method].reference``) and ours' variants, and
    ``to_our_scale``."""
    import copy

    import torch
    from mmengine.optim import OptimWrapper

    from benchmarks.pairs import (BACKBONES, METHODS, PRESETS, copy_parameters,
                                  make_optimizer)
    from ssl_plugins.registry import MODELS
    spec = METHODS[method]
    backbone, channels, _ = BACKBONES[args.arch]
    ours_cfg, theirs_cfg, to_our_scale = spec.build(
        backbone, channels, PRESETS[args.preset])
    torch.manual_seed(args.seed)
    ours = MODELS.build(ours_cfg)
    ours.init_weights()
    theirs = MODELS.build(theirs_cfg)
    copy_parameters(ours, theirs)
    models = {'ours': ours, spec.reference: theirs}
    for name in variant_names(args):
        models[name] = copy.deepcopy(ours)
    if getattr(args, 'compile', False):
        # built again, not deep-copied: lightly's DINO holds non-leaf
        # tensors (weight norm), which deepcopy refuses
        twin = MODELS.build(copy.deepcopy(theirs_cfg))
        copy_parameters(ours, twin)
        models[spec.reference + '+compile'] = twin
    out = {}
    for name, model in models.items():
        opts = options_of(name)
        model.to(args.device).train()
        if 'channels_last' in opts:
            model.to(memory_format=torch.channels_last)
        optim = make_optimizer(method, model.parameters())
        clip = (None if spec.clip_grad is None else
                dict(max_norm=spec.clip_grad))
        if 'bf16' in opts:  # AutocastOptimWrapper
            from ssl_plugins.engine.optimizers import AutocastOptimWrapper
            wrapper = AutocastOptimWrapper(optimizer=optim, clip_grad=clip)
        else:
            wrapper = OptimWrapper(optimizer=optim, clip_grad=clip)
        if 'compile' in opts:
            # what mmengine's Runner does with compile=True (after wrapping)
            model.train_step = torch.compile(model.train_step,
                                             backend=args.compile_backend)
        out[name] = (model, wrapper)
    return out, to_our_scale


def set_step_counts(models, total):
    """Tell every model of the run (the compiled twins too) that it runs
    ``total`` steps: mmpretrain's ``CosineEMA`` reads ``max_iters`` from the
    MessageHub at each update; lightly's ``cosine_schedule`` ends at
    ``max_steps - 1``, ours at ``total``."""
    from mmengine.logging import MessageHub
    MessageHub.get_current_instance().update_info('max_iters', total)
    for model, _ in models.values():
        if hasattr(model, 'max_steps'):
            model.max_steps = total + 1


def step_flops(method, model, data):
    """Model FLOPs of one training step: torch's ``FlopCounterMode`` over an
    eager fp32 step of a copy of ``model`` (``model`` is left as it was).

    It counts the matrix products and convolutions of the forward and
    backward passes (teacher / target forwards included), not elementwise
    ops, as model FLOPs utilisation does (Chowdhery et al. 2022, PaLM,
    Appendix B). Every implementation of a method does the same model FLOPs,
    so one count serves all the rows of its table.
    """
    import copy

    from mmengine.optim import OptimWrapper
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.pairs import make_optimizer
    twin = copy.deepcopy(model)
    wrapper = OptimWrapper(optimizer=make_optimizer(method,
                                                    twin.parameters()))
    with FlopCounterMode(display=False) as counter:
        twin.train_step(data, wrapper)
    del twin, wrapper
    gc.collect()  # hooks tie the copy to its optimizer: free it before timing
    return counter.get_total_flops()


def peak_tflops(args):
    """``--peak-tflops``, else the known peak of the CUDA device, else None
    (no MFU column)."""
    if args.peak_tflops:
        return args.peak_tflops
    if str(args.device).startswith('cuda'):
        import torch
        return PEAK_BF16_TFLOPS.get(torch.cuda.get_device_name(args.device))
    return None


def bench_train(method, args, failed=None):
    """Time every implementation of ``method``; ``{name: row}``. A compiled
    row that fails in its first step is left out and its error put in
    ``failed`` (``{name: message}``)."""
    import torch

    from benchmarks.pairs import METHODS
    from ssl_plugins.functional.ema import cosine_momentum
    models, to_our_scale = build_pair(method, args)
    reference = METHODS[method].reference
    total = args.warmup + args.iters
    set_step_counts(models, total)
    data = make_batch(method, args.batch_size, args.img_size, args.device,
                      args.seed)
    flops = step_flops(method, models['ours'][0], data)
    if any('channels_last' in options_of(k) for k in models):
        data_cl = dict(data, inputs=[
            v.contiguous(memory_format=torch.channels_last)
            for v in data['inputs']])
    times = {k: [] for k in models}
    first_loss, peak = {}, {}
    names = list(models)
    for it in range(total):
        order = list(names) if it % 2 == 0 else names[::-1]
        for name in order:
            model, wrapper = models[name]
            batch = data_cl if 'channels_last' in options_of(name) else data
            measure_mem = it == args.warmup
            if measure_mem:
                mem = PeakMemory(args.device).__enter__()
            _sync(args.device)
            t0 = time.perf_counter()
            if hasattr(model, 'set_momentum'):  # TargetMomentumHook's call
                model.set_momentum(cosine_momentum(model.base_momentum, it,
                                                   total))
            try:
                log_vars = model.train_step(batch, wrapper)
            except Exception as err:  # noqa: B902
                if it > 0 or 'compile' not in options_of(name):
                    raise
                # a compiler failure (the reference is not ours to make
                # compilable; a GPU run must not lose the methods after it):
                # reported, in the JSON too, and the row left out
                msg = f'{type(err).__name__}: {str(err)[:300]}'
                print(f'  {method}: {name} failed in its first step, left '
                      f'out ({msg})', flush=True)
                if failed is not None:
                    failed[name] = msg
                names.remove(name)
                del times[name]
                continue
            if hasattr(model, 'update_center'):  # DINOTeacherCenteringHook's
                model.update_center()
            _sync(args.device)
            dt = time.perf_counter() - t0
            if measure_mem:
                mem.__exit__(None, None, None)
                peak[name] = mem.peak + state_bytes(model,
                                                    wrapper.optimizer)
            if it == 0:
                loss = float(log_vars['loss'])
                first_loss[name] = (to_our_scale(loss)
                                    if name.startswith(reference) else loss)
            if it >= args.warmup:
                times[name].append(dt)
    res = {}
    for name in names:
        med = statistics.median(times[name])
        tflops = flops / med / 1e12
        res[name] = dict(median_s=med, img_per_s=args.batch_size / med,
                         step_gflop=flops / 1e9, tflops=tflops,
                         mfu=(tflops / args.peak_tflops
                              if args.peak_tflops else None),
                         peak_mb=peak[name] / 2**20,
                         first_loss=first_loss[name])
    base = res[reference]
    for name in names:
        res[name]['time_ratio'] = res[name]['median_s'] / base['median_s']
        res[name]['mem_ratio'] = res[name]['peak_mb'] / base['peak_mb']
    return res


# -------------------------------------------------------------- pipeline
def _photometric(blur_prob, solarize_prob):
    # BYOL's view pipelines (Grill et al. 2020, Table 6), as mmpretrain's
    # imagenet_bs32_byol.py writes them.
    return [
        dict(type='RandomApply', prob=0.8, transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                 saturation=0.2, hue=0.1)]),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
             channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
             magnitude_std='inf', prob=blur_prob),
        dict(type='Solarize', thr=128, prob=solarize_prob),
    ]


def pipelines():
    """name -> (ours, mmpretrain's as configured, mmpretrain's with cv2)."""
    v1, v2 = _photometric(1.0, 0.0), _photometric(0.1, 0.2)

    def rrc(size, scale, backend):
        return [dict(type='RandomResizedCrop', scale=size,
                     crop_ratio_range=scale, interpolation='bicubic',
                     backend=backend),
                dict(type='RandomFlip', prob=0.5)]

    out = {}
    # BYOL two views of 224.
    ours = [dict(type='MultiCrop', num_crops=(1, 1), crop_sizes=(224, 224),
                 crop_scales=((0.08, 1.), (0.08, 1.)), transforms=[v1, v2],
                 interpolation='bicubic')]
    ours_crop = [dict(ours[0], transforms=[[], []])]
    theirs = {b: [dict(type='MultiView', num_views=[1, 1],
                       transforms=[rrc(224, (0.08, 1.), b) + v1,
                                   rrc(224, (0.08, 1.), b) + v2])]
              for b in ('pillow', 'cv2')}
    out['2x224 (BYOL)'] = (ours, ours_crop, theirs)
    # SwAV multi-crop 2x224 + 6x96 (scales 0.14-1 and 0.05-0.14).
    swav = _photometric(0.5, 0.0)[:3]
    ours = [dict(type='MultiCrop', num_crops=(2, 6), crop_sizes=(224, 96),
                 crop_scales=((0.14, 1.), (0.05, 0.14)),
                 transforms=[swav, swav], interpolation='bicubic')]
    ours_crop = [dict(ours[0], transforms=[[], []])]
    theirs = {b: [dict(type='MultiView', num_views=[2, 6],
                       transforms=[rrc(224, (0.14, 1.), b) + swav,
                                   rrc(96, (0.05, 0.14), b) + swav])]
              for b in ('pillow', 'cv2')}
    out['2x224+6x96 (SwAV)'] = (ours, ours_crop, theirs)
    return out


def bench_pipeline(args):
    import cv2
    import numpy as np
    from mmengine.dataset import Compose

    from ssl_plugins.registry import TRANSFORMS  # noqa: F401 (scope)
    rng = np.random.default_rng(args.seed)
    h, w = args.pipeline_img
    # A smooth random image (upsampled low-resolution noise); the decode is
    # not timed (same for every pipeline).
    small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    res = {}
    for name, (ours, ours_crop, theirs) in pipelines().items():
        pipes = {'ours (MultiCrop + per-image photometric)': Compose(ours),
                 'ours: loader part (crop+flip only)': Compose(ours_crop),
                 'mmpretrain (pillow, as its configs)': Compose(
                     theirs['pillow']),
                 'mmpretrain (cv2 backend)': Compose(theirs['cv2'])}
        cpu = {k: 0.0 for k in pipes}
        np.random.seed(args.seed)
        for i in range(args.pipeline_samples + 2):
            for k, pipe in pipes.items():
                t0 = time.process_time()
                pipe(dict(img=img.copy(), img_shape=img.shape[:2],
                          ori_shape=img.shape[:2]))
                if i >= 2:
                    cpu[k] += time.process_time() - t0
        per = {k: v / args.pipeline_samples for k, v in cpu.items()}
        batched = batched_photometric_seconds(name, args)
        per['ours: photometric batched in the preprocessor (' +
            str(args.device) + ')'] = batched
        if not str(args.device).startswith('cuda'):
            per['ours: loader part + batched photometric, all on CPU'] = (
                per['ours: loader part (crop+flip only)'] + batched)
        base = per['mmpretrain (pillow, as its configs)']
        res[name] = {k: dict(ms_per_sample=1e3 * v, ratio=v / base)
                     for k, v in per.items()}
    return res


def batched_photometric_seconds(name, args, batch=16):
    """Process CPU time per sample of BatchedAugmentDataPreprocessor's ops
    for the views of one pipeline scenario (on CUDA: the host time spent
    launching them)."""
    import torch

    from ssl_plugins.models.data_preprocessors import BatchedPhotometricAugment
    if name.startswith('2x224 '):
        views = [(224, dict(blur_prob=1.0, solarize_prob=0.0)),
                 (224, dict(blur_prob=0.1, solarize_prob=0.2))]
    else:
        swav = dict(hue=0.1, blur_prob=0.5, solarize_prob=0.0)
        views = [(224, swav)] * 2 + [(96, swav)] * 6
    augs = [(torch.rand(batch, 3, side, side, device=args.device),
             BatchedPhotometricAugment(**cfg)) for side, cfg in views]
    for x, aug in augs:  # warm-up
        aug(x)
    reps = 2
    _sync(args.device)
    t0 = time.process_time()
    for _ in range(reps):
        for x, aug in augs:
            aug(x)
    _sync(args.device)
    return (time.process_time() - t0) / (reps * batch)


# ------------------------------------------------------------------- ema
def bench_ema(args):
    import torch
    from mmengine.logging import MessageHub
    from mmpretrain.models.utils import CosineEMA

    from ssl_plugins.functional.ema import ema_update_
    from ssl_plugins.registry import MODELS
    online = MODELS.build(dict(type='mmpretrain.ResNet', depth=50)).to(
        args.device)
    target = MODELS.build(dict(type='mmpretrain.ResNet', depth=50)).to(
        args.device)
    tp, op = list(target.parameters()), list(online.parameters())
    tau = 0.99
    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    mm_ema = CosineEMA(online, momentum=1 - tau).to(args.device)
    mm_ema.update_parameters(online)  # its first call only copies

    def ours():
        ema_update_(tp, op, tau)

    @torch.no_grad()
    def loop():
        for t, o in zip(tp, op):
            t.mul_(tau).add_(o, alpha=1 - tau)

    def mmengine():
        mm_ema.update_parameters(online)

    fns = dict(ours=ours, loop=loop, mmengine_CosineEMA=mmengine)
    times = {k: [] for k in fns}
    for i in range(args.ema_reps + 2):
        for k, fn in (fns.items() if i % 2 else reversed(fns.items())):
            _sync(args.device)
            t0 = time.perf_counter()
            fn()
            _sync(args.device)
            if i >= 2:
                times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {k: dict(median_ms=1e3 * v, ratio_to_loop=v / med['loop'])
            for k, v in med.items()}


# ------------------------------------------------------------------ main
def environment(args):
    import platform

    import mmengine
    import mmpretrain
    import torch
    import torchvision
    env = dict(date=time.strftime('%Y-%m-%d %H:%M %Z'),
               machine=platform.machine(), cpus=os.cpu_count(),
               cpu=_cpu_name(), torch=torch.__version__,
               torchvision=torchvision.__version__,
               mmengine=mmengine.__version__,
               mmpretrain=mmpretrain.__version__, threads=args.threads,
               device=str(args.device))
    if 'dino' in args.methods and 'train' in args.sections:
        import lightly
        env['lightly'] = lightly.__version__
    if str(args.device).startswith('cuda'):
        env['gpu'] = torch.cuda.get_device_name()
        # "fp32" rows: cuDNN convolutions in TF32 unless this is False
        env['cudnn_allow_tf32'] = torch.backends.cudnn.allow_tf32
        env['float32_matmul_precision'] = torch.get_float32_matmul_precision()
    return env


def _cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown'


def main(argv=None):
    args = parse_args(argv)
    if args.warmup is None:
        compiled = args.compile or any('compile' in options_of('ours+' + v)
                                       for v in args.variants)
        args.warmup = 3 if compiled else 2
    cuda = args.device.startswith('cuda')
    if not cuda and MMAP_ENV not in os.environ and argv is None:
        # Fixed mmap threshold: freed tensors return to the OS, so one
        # model's freed heap does not hide the next one's peak RSS.
        os.environ[MMAP_ENV] = str(128 * 1024)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    import torch
    torch.set_num_threads(args.threads)
    from mmengine.registry import init_default_scope

    from benchmarks.pairs import BACKBONES, METHODS, available
    init_default_scope('ssl_plugins')
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('WARNING')  # init_weights logs
    import ssl_plugins.utils
    ssl_plugins.utils.register_all_modules()
    if args.methods is None:
        args.methods = [m for m in METHODS if available(m)]
        skipped = [m for m in METHODS if m not in args.methods]
        if skipped:
            print(f'skipping {skipped}: reference implementation not '
                  'installed (pip install -r requirements/benchmark.txt)')
    args.arch = args.arch or ('resnet18' if cuda else 'resnet18-w32-s2')
    args.img_size = args.img_size or BACKBONES[args.arch][2]
    args.batch_size = args.batch_size or (128 if cuda else 64)
    args.preset = args.preset or ('paper' if cuda else 'fmnist')
    args.peak_tflops = peak_tflops(args)
    if cuda and not args.peak_tflops:
        print(f'no bf16 peak known for {torch.cuda.get_device_name()!r}: '
              'MFU left out (give --peak-tflops)')
    env = environment(args)
    env['peak_bf16_tflops'] = args.peak_tflops
    print(json.dumps(env))
    results = dict(env=env, config=dict(
        arch=args.arch, img_size=args.img_size, batch_size=args.batch_size,
        preset=args.preset, iters=args.iters, warmup=args.warmup))
    print(f'config: {results["config"]}', flush=True)
    if 'ema' in args.sections:
        results['ema'] = bench_ema(args)
        print('\nEMA update of a ResNet-50 target (median ms; target <= 0.2x '
              'of the loop)')
        for k, v in results['ema'].items():
            print(f'  {k:<22}{v["median_ms"]:>9.2f} ms'
                  f'{v["ratio_to_loop"]:>8.2f}x loop', flush=True)
    if 'train' in args.sections:
        results['train'] = {}
        print('\nTrain iteration (median after warm-up; ratios to the '
              'reference: mmpretrain, lightly for DINO; targets: time <= '
              '0.8x, memory <= 1.0x)')
        print(f'  {"method":<14}{"impl":<34}{"median s":>10}{"ratio":>8}'
              f'{"img/s":>9}{"MFU":>7}{"peak MB":>10}{"ratio":>8}'
              f'{"first loss":>12}')
        results['failed'] = {}
        for method in args.methods:
            res = bench_train(method, args,
                              results['failed'].setdefault(method, {}))
            results['train'][method] = res
            for name, r in res.items():
                print(f'  {method:<14}{name:<34}{r["median_s"]:>10.4f}'
                      f'{r["time_ratio"]:>8.2f}{r["img_per_s"]:>9.1f}'
                      f'{_percent(r["mfu"]):>7}{r["peak_mb"]:>10.1f}'
                      f'{r["mem_ratio"]:>8.2f}{r["first_loss"]:>12.5f}',
                      flush=True)
            compiled = compile_ratios(method, res)
            if compiled:
                print('  ' + compiled, flush=True)
            write_json(args, results)  # a cut-off run keeps what it has
            # every method's models compile the same train_step code: clear
            # Dynamo's caches so that they never reach its recompile limit;
            # free this method's models (reference cycles through hooks)
            # before the next one is timed
            gc.collect()
            if cuda:
                torch.cuda.empty_cache()
            torch._dynamo.reset()
    if 'pipeline' in args.sections:
        results['pipeline'] = bench_pipeline(args)
        print('\nData pipeline CPU time per sample (ratio to mmpretrain as '
              'configured; multi-crop target <= 0.5x)')
        for name, rows in results['pipeline'].items():
            for k, v in rows.items():
                ratio = ('' if math.isnan(v['ratio'])
                         else f'{v["ratio"]:>8.2f}x')
                print(f'  {name:<20}{k:<62}{v["ms_per_sample"]:>9.2f} ms'
                      f'{ratio}', flush=True)
    write_json(args, results)
    if args.markdown:
        write_markdown(args.markdown, results, argv)
    return results


def write_json(args, results):
    """Write ``results`` to ``--json``, whole or not at all (a temporary
    file renamed over it)."""
    if args.json:
        tmp = args.json + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(results, f, indent=1)
        os.replace(tmp, args.json)


def _percent(value):
    return '-' if value is None else f'{100 * value:.1f}%'


def compile_ratios(method, res):
    """One line per compiled variant of ours: its time over the eager
    reference's (issue 20's CPU target) and over the compiled reference's,
    and its img/s as a multiple of the eager reference's (the GPU target);
    '' without compiled variants."""
    from benchmarks.pairs import METHODS
    reference = METHODS[method].reference
    base = res[reference]
    theirs = res.get(reference + '+compile')
    lines = []
    for name, row in res.items():
        if not name.startswith('ours+') or 'compile' not in options_of(name):
            continue
        line = (f'{method}: {name} / eager {reference} time '
                f'{row["median_s"] / base["median_s"]:.2f}, img/s '
                f'{row["img_per_s"] / base["img_per_s"]:.2f}x')
        if theirs is not None:
            line += (f'; / compiled {reference} time '
                     f'{row["median_s"] / theirs["median_s"]:.2f}')
        lines.append(line)
    return '\n  '.join(lines)


BEGIN, END = '<!-- speed:begin -->', '<!-- speed:end -->'


def write_markdown(path, results, argv=None):
    env, cfg = results['env'], results['config']
    cmd = ('OMP_NUM_THREADS=1 nice -n 10 python benchmarks/speed.py '
           + ' '.join(sys.argv[1:] if argv is None else argv))
    where = env.get('gpu', env['cpu'] + f' ({env["cpus"]} cores)')
    lines = [BEGIN, '',
             f'Measured {env["date"]} on {where}, device {env["device"]}, '
             f'{env["threads"]} torch thread(s); torch {env["torch"]}, '
             f'mmengine {env["mmengine"]}, mmpretrain {env["mmpretrain"]}'
             + (f', lightly {env["lightly"]}' if 'lightly' in env else '') +
             '. Ours and the reference implementation run interleaved in one '
             'process' + ('.' if env['device'].startswith('cuda') else
                          ': read the ratios, not the absolute times (the '
                          'CPU machine is shared).'),
             '', '```', cmd, '```', '']
    if 'train' in results:
        lines += [f'Train iteration: backbone {cfg["arch"]}, '
                  f'{cfg["img_size"]} px, batch {cfg["batch_size"]}, '
                  f'projectors "{cfg["preset"]}", median of {cfg["iters"]} '
                  f'iterations after {cfg["warmup"]} warm-up; ratios to the '
                  'reference implementation (mmpretrain; lightly for DINO). '
                  'First loss on our scale (same weights, same batch). '
                  'img/s: source images (each with all its views) per '
                  'second. MFU: the step\'s model FLOPs (convolutions and '
                  'matrix products, forward and backward, counted by '
                  'torch\'s FlopCounterMode) per second over '
                  + (f'the chip\'s dense bf16 peak, '
                     f'{env["peak_bf16_tflops"]:g} TFLOP/s.'
                     if env.get('peak_bf16_tflops') else
                     'the chip\'s peak (not known here: -).'), '',
                  '| method | implementation | median s/iter | time ratio | '
                  'img/s | MFU | peak MB | memory ratio | first-step loss |',
                  '|---|---|---|---|---|---|---|---|---|']
        for method, rows in results['train'].items():
            for name, r in rows.items():
                lines.append(
                    f'| {method} | {name} | {r["median_s"]:.3f} | '
                    f'{r["time_ratio"]:.2f} | {r["img_per_s"]:.1f} | '
                    f'{_percent(r["mfu"])} | {r["peak_mb"]:.0f} | '
                    f'{r["mem_ratio"]:.2f} | {r["first_loss"]:.5f} |')
        lines.append('')
    if 'pipeline' in results:
        lines += ['Data pipeline, CPU time per sample (ratio to mmpretrain\'s '
                  'pipeline as its configs write it):', '',
                  '| views | pipeline | ms/sample | ratio |',
                  '|---|---|---|---|']
        for name, rows in results['pipeline'].items():
            for k, v in rows.items():
                lines.append(f'| {name} | {k} | {v["ms_per_sample"]:.2f} | '
                             f'{v["ratio"]:.2f} |')
        lines.append('')
    if 'ema' in results:
        lines += ['EMA update of a ResNet-50 target (median):', '',
                  '| implementation | ms | ratio to the loop |',
                  '|---|---|---|']
        for k, v in results['ema'].items():
            lines.append(f'| {k} | {v["median_ms"]:.2f} | '
                         f'{v["ratio_to_loop"]:.2f} |')
        lines.append('')
    lines.append(END)
    block = '\n'.join(lines)
    from benchmarks.markdown import replace_block
    replace_block(path, BEGIN, END, block)


if __name__ == '__main__':
    main()
