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
(``--aug batched``, :func:`batched_aug_cfg`: same draws, less CPU on 28 px
images); mmpretrain's runs without the hook (NCHW, as its configs) and with
the config's per-image pipeline. DINO: the student's kNN is recorded too
(``knn_student``; a note under the table).
BYOL, SwAV and DINO run on ``ResNet10_CIFAR`` (width 16), our backbone,
which mmpretrain's models are built on as well (:func:`shared_backbone_type`:
both implementations train the same network). DINO has no
mmpretrain row: mmpretrain 1.2's pip package has no DINO (its repository
keeps one under ``projects/dino/``, which is not installed). Writes the table
into ``docs/benchmarks.md`` (between the ``quality`` markers).

Schedule for a budget: the run is iteration-based (``IterBasedTrainLoop``)
over N iterations, with a 10% linear warm-up and a cosine decay of the lr
over N; N is 2.5x (:data:`OVERPLAN`) the iterations a few timed ones
predict. Every iteration-keyed schedule follows the elapsed time: after each
iteration the counter moves on to ``elapsed / budget * N`` where that is
ahead (:class:`_Budget`), so the schedules reach their end when the budget
is spent, whatever the load on the machine (a busy machine trains fewer
iterations, not a truncated schedule). Hooks keyed on iterations run as
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
- Epoch-keyed hook arguments (:data:`EPOCH_ARGS`: SwAV's queue start, DINO's
  last-layer freezing and teacher-temperature warm-up; mmpretrain's
  ``SwAVHook`` queue start) become their iteration-keyed twins at
  ``--epoch-rule budget`` (default): 1 epoch = N / E_cfg iterations, the
  recipe compressed onto the budget as the lr and the schedules above (DINO's
  last layer trains after the first quarter of its 4-epoch config's budget,
  SwAV's queue starts after the first third). ``--epoch-rule data``: 1 epoch
  = len(train set) // batch iterations, after the same amount of data as in
  the shipped recipe (234 iterations at batch 256: in a 6-minute run DINO's
  last layer stayed frozen for 217 of its 217 iterations, and SwAV's queue
  never started). A hook with an epoch-keyed argument not in
  :data:`EPOCH_ARGS` stops the script rather than run unconverted.

Example (what the lead runs: 10 min per method and implementation)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/quality.py --threads 1 \\
        --budget-min 10
"""
import argparse
import functools
import inspect
import json
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
#: DINO's Fashion-MNIST config (switch here, or ``--config dino=PATH``).
DINO_CONFIG = ('configs/dino/'
               'dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-coslr-4e_'
               'fashion-mnist.py')
CONFIGS = {
    'byol': 'configs/byol/'
    'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py',
    'simsiam':
    'configs/simsiam/simsiam_resnet18-w32-s2_1xb256-coslr-3e_fashion-mnist.py',
    'barlow_twins': 'configs/barlow_twins/'
    'barlowtwins_resnet18-w32-s2-proj2048_1xb256-coslr-3e_fashion-mnist.py',
    'swav': 'configs/swav/'
    'swav_resnet10-w16-s2-proj1024-k1000_1xb256-mcrop-2-6-cj0.4-coslr-3e_'
    'fashion-mnist.py',
    'dino': DINO_CONFIG,
}
#: Methods without an implementation in mmpretrain 1.2's pip package.
NO_MMPRETRAIN = {
    'dino': "mmpretrain 1.2's pip package has no DINO (its repository keeps "
            'one under projects/dino/, which is not installed)',
}
#: Backbone the kNN reads where it is not ``model.backbone`` (the online /
#: student network): DINO's teacher, as the paper and its published weights.
KNN_SOURCE = {'dino': 'teacher'}
#: Epoch-keyed hook arguments -> their iteration-keyed twins (the hook class
#: name; the argument's default applies when the config omits it).
EPOCH_ARGS = {
    'SwAVQueueHook': ('start_epoch', 'start_iter'),
    'FreezeLastLayerHook': ('freeze_epochs', 'freeze_iters'),
    'TeacherTempWarmupHook': ('warmup_epochs', 'warmup_iters'),
}
BEGIN, END = '<!-- quality:begin -->', '<!-- quality:end -->'


def parse_args(argv=None):
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


def load_cfg(method, args):
    """The method's config, with ``--data-root`` applied."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, args.configs[method]))
    if args.data_root:
        cfg.train_dataloader.dataset.data_root = args.data_root
        for split in ('train', 'test'):
            cfg.knn_eval[split].data_root = args.data_root
    return cfg


#: BT.601 luma weights in the BGR order of mmcv-loaded images (DINO's
#: config names them; the batched greyscale uses them, in RGB order).
_BGR_LUMA = (0.114, 0.587, 0.299)


def photometric_kwargs(transforms, where):
    """The :class:`BatchedPhotometricAugment` arguments of one view group's
    per-image photometric transforms (as our Fashion-MNIST configs write
    them: ``RandomApply([ColorJitter])``, ``RandomGrayscale``,
    ``Solarize``); anything else raises (naming ``where``)."""
    out = dict(brightness=0., contrast=0., saturation=0., hue=0.,
               jitter_prob=0., grayscale_prob=0., blur_prob=0.,
               solarize_prob=0.)
    for t in transforms:
        t = dict(t)
        kind, prob = t.pop('type'), t.pop('prob', 1.0)
        if kind == 'RandomApply' and [
                x['type'] for x in t['transforms']] == ['ColorJitter']:
            kind, t = 'ColorJitter', dict(t['transforms'][0])
            t.pop('type')
        if kind == 'ColorJitter':
            out.update({k: float(t.pop(k, 0.)) for k in
                        ('brightness', 'contrast', 'saturation', 'hue')},
                       jitter_prob=prob)
        elif kind == 'RandomGrayscale':
            # mmcv's default (1, 1, 1) (the channel mean) and BT.601 differ
            # on colour images only: on grey ones (Fashion-MNIST, 3 equal
            # channels) both leave the image as it is
            weights = tuple(t.pop('channel_weights', (1., 1., 1.)))
            if (weights not in (_BGR_LUMA, (1., 1., 1.))
                    or not t.pop('keep_channels', False)):
                raise NotImplementedError(
                    f'{where}: RandomGrayscale with channel_weights='
                    f'{weights} or without keep_channels=True has no '
                    'batched twin here')
            out['grayscale_prob'] = prob
        elif kind == 'Solarize':
            out.update(solarize_prob=prob,
                       solarize_threshold=t.pop('thr') / 255)
        else:
            raise NotImplementedError(
                f'{where}: no batched twin for per-image {kind!r} (the '
                'conversion knows ColorJitter, RandomGrayscale, Solarize)')
        if t:
            raise NotImplementedError(f'{where}: {kind} arguments {t} have '
                                      'no batched twin')
    return out


def has_batched_aug(cfg):
    """Whether ``cfg``'s data preprocessor draws the augmentations."""
    return 'BatchedAugment' in str(cfg.model.data_preprocessor.get('type'))


def batched_aug_cfg(cfg):
    """``cfg`` with its photometric augmentations moved from the loader to
    the batch (``--aug batched``): the loader's ``MultiCrop`` keeps crops
    and flips, and a ``BatchedAugmentDataPreprocessor`` draws the same
    augmentations per sample and view group (the pattern of
    ``configs/byol/*_batched-aug.py``). On 28 px images the per-image mmcv
    ops cost more CPU than the batched tensor ops: the batched path takes
    0.19-0.39x of the per-image CPU time (``benchmarks/loader_fmnist.py``,
    table in benchmarks/README.md)."""
    if has_batched_aug(cfg):
        return cfg  # already batched (e.g. a *_batched-aug.py config)
    pipeline = [dict(t) for t in cfg.train_dataloader.dataset.pipeline]
    crops = [i for i, t in enumerate(pipeline) if t['type'] == 'MultiCrop']
    if len(crops) != 1:
        raise NotImplementedError('--aug batched: the train pipeline needs '
                                  'exactly one MultiCrop')
    crop = pipeline[crops[0]]
    view_augments = [
        dict(num_views=n, **photometric_kwargs(
            group, f'MultiCrop transforms[{i}]'))
        for i, (n, group) in enumerate(zip(crop['num_crops'],
                                           crop['transforms']))]
    crop['transforms'] = [[] for _ in crop['transforms']]
    cfg.train_dataloader.dataset.pipeline = pipeline
    pre = dict(cfg.model.data_preprocessor)
    pre['type'] = 'BatchedAugmentDataPreprocessor'
    pre['view_augments'] = view_augments
    cfg.model.data_preprocessor = pre
    return cfg


def shared_backbone_type(kind):
    """The registry name under which mmpretrain's model builds the backbone
    of our config: mmpretrain's own class where it has one
    (``mmpretrain.ResNet_CIFAR``), else ours (``ssl_plugins.ResNet10_CIFAR``):
    both implementations train the same network either way."""
    from mmpretrain.registry import MODELS as THEIRS
    name = kind.split('.')[-1]
    return (f'mmpretrain.{name}' if THEIRS.get(name) is not None
            else f'ssl_plugins.{name}')


def mmpretrain_model(cfg):
    """mmpretrain's implementation of the network of our config."""
    from benchmarks.pairs import METHODS, PRESETS
    if has_batched_aug(cfg):
        raise ValueError(
            'mmpretrain\'s runs need the per-image pipeline; give --config '
            'a config with per-image augmentations (ours moves them to the '
            'batch itself, --aug batched)')
    method = {'BYOL': 'byol', 'SimSiam': 'simsiam',
              'BarlowTwins': 'barlow_twins', 'SwAV': 'swav'}[cfg.model.type]
    backbone = dict(cfg.model.backbone)
    backbone['type'] = shared_backbone_type(backbone['type'])
    neck = cfg.model.neck
    proj = dict(byol_hid=neck.hid_channels, byol_out=neck.out_channels,
                simsiam_dim=neck.out_channels, barlow_dim=neck.out_channels,
                swav_hid=neck.hid_channels, swav_out=neck.out_channels)
    if method == 'simsiam':
        proj['simsiam_pred'] = cfg.model.head.predictor.hid_channels
    if method == 'swav':
        proj['swav_prototypes'] = cfg.model.head.num_prototypes
    proj = dict(PRESETS['paper'], **proj)
    _, theirs, _ = METHODS[method][0](backbone, neck.in_channels, proj)
    theirs['data_preprocessor'] = dict(
        cfg.model.data_preprocessor,
        type='mmpretrain.SelfSupDataPreprocessor')
    return theirs


def hook_class(hook):
    from ssl_plugins.registry import HOOKS
    kind = hook['type']
    return kind if isinstance(kind, type) else HOOKS.get(kind)


def hook_args(hook):
    """The hook's arguments, the class defaults filled in."""
    params = inspect.signature(hook_class(hook).__init__).parameters
    args = {name: p.default for name, p in params.items()
            if p.default is not inspect.Parameter.empty}
    args.update(hook)
    return args


def iteration_hooks(hooks, epoch_iters):
    """``hooks`` with their epoch-keyed arguments (:data:`EPOCH_ARGS`) as
    iterations at ``epoch_iters`` iterations per epoch; returns (hooks,
    ['Hook arg=E -> arg=I', ...])."""
    out, notes = [], []
    for hook in hooks:
        hook, cls = dict(hook), hook_class(hook)
        if cls.__name__ in EPOCH_ARGS:
            epoch_arg, iter_arg = EPOCH_ARGS[cls.__name__]
            if hook.get(iter_arg) is None:
                epochs = hook_args(hook)[epoch_arg]
                hook.pop(epoch_arg, None)
                hook[iter_arg] = int(round(epochs * epoch_iters))
                notes.append(f'{cls.__name__} {epoch_arg}={epochs:g} -> '
                             f'{iter_arg}={hook[iter_arg]}')
        elif any('epoch' in name for name in hook_args(hook)):
            raise NotImplementedError(
                f'{cls.__name__} has an epoch-keyed argument; add its '
                'iteration-keyed twin to EPOCH_ARGS in benchmarks/quality.py')
        out.append(hook)
    return out, notes


@functools.lru_cache()
def iter_swav_hook():
    """Registers (once) mmpretrain's ``SwAVHook`` with its queue started at
    an iteration in mmpretrain's registry; returns its config type."""
    from mmpretrain.engine.hooks import SwAVHook
    from mmpretrain.registry import HOOKS

    class IterSwAVHook(SwAVHook):
        """``SwAVHook`` whose queue starts at ``iter_queue_starts``.

        Theirs starts the queue in ``before_train_epoch`` once ``runner.epoch
        >= epoch_queue_starts``: under ``IterBasedTrainLoop`` that runs once,
        at epoch 0. Here their same code runs (as at an epoch start) before
        the first iteration >= ``iter_queue_starts``. ``frozen_layers_cfg``
        is already per iteration in theirs.
        """

        def __init__(self, iter_queue_starts, **kwargs):
            super().__init__(epoch_queue_starts=float('inf'), **kwargs)
            self.iter_queue_starts = iter_queue_starts

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            super().before_train_iter(runner, batch_idx, data_batch)
            if (self.queue is None and self.queue_length > 0
                    and runner.iter >= self.iter_queue_starts):
                self.epoch_queue_starts = runner.epoch
                self.before_train_epoch(runner)

    HOOKS.register_module(module=IterSwAVHook, force=True)
    return 'mmpretrain.IterSwAVHook'


def mmpretrain_hooks(hooks, cfg):
    """Our (iteration-keyed) recipe hooks as mmpretrain runs them: their
    ``CosineEMA`` replaces ``TargetMomentumHook``, their ``SwAVHook`` (as in
    their SwAV config) our queue and prototype-freezing hooks."""
    out, swav = [], {}
    for hook in hooks:
        name = hook_class(hook).__name__
        if name in ('TargetMomentumHook', 'ChannelsLastHook'):
            continue  # ours (theirs: CosineEMA in the model; NCHW)
        if name == 'SwAVQueueHook':
            args = hook_args(hook)
            swav.update(queue_length=args['length'],
                        iter_queue_starts=args['start_iter'])
        elif name == 'FreezePrototypesHook':
            swav['frozen_layers_cfg'] = dict(
                prototypes=hook_args(hook)['iters'])
        else:
            out.append(hook)
    if swav:
        head = cfg.model.head
        swav.setdefault('iter_queue_starts', 0)
        out.append(dict(type=iter_swav_hook(), priority='VERY_HIGH',
                        batch_size=cfg.train_dataloader.batch_size,
                        crops_for_assign=list(head.loss.crops_for_assign),
                        feat_dim=head.feat_dim, **swav))
    return out


@functools.lru_cache()
def _train_size(dataset_json):
    from ssl_plugins.registry import DATASETS
    return len(DATASETS.build(dict(json.loads(dataset_json), pipeline=[])))


def train_size(cfg):
    """Number of images of the config's train set."""
    return _train_size(json.dumps(cfg.train_dataloader.dataset.to_dict(),
                                  sort_keys=True, default=str))


def budget_schedulers(cfg, max_iters):
    """10% linear warm-up + cosine of the lr over ``max_iters``, plus the
    config's other parameter schedules compressed onto ``max_iters``."""
    warm = max(1, max_iters // 10)
    out = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
             end=warm),
        dict(type='CosineAnnealingLR', by_epoch=False, begin=warm,
             end=max(max_iters, warm + 1), T_max=max(1, max_iters - warm)),
    ]
    epochs = cfg.train_cfg.get('max_epochs')
    for sched in cfg.get('param_scheduler', []):
        sched = dict(sched)
        kind = getattr(sched['type'], '__name__', str(sched['type']))
        if kind.endswith('LR') or sched.get('param_name') == 'lr':
            continue  # replaced above
        if sched.get('by_epoch', True):
            length = epochs
        else:
            length = cfg.train_cfg.get('max_iters') or (
                epochs * (train_size(cfg) // cfg.train_dataloader.batch_size))
        for key in ('begin', 'end', 'T_max'):
            if key in sched:
                sched[key] = int(round(sched[key] * max_iters / length))
        sched['by_epoch'] = False
        sched.pop('convert_to_iter_based', None)
        out.append(sched)
    return out


def epoch_iterations(cfg, max_iters, rule):
    """Iterations that stand for one epoch of the config (``--epoch-rule``)."""
    if rule == 'budget' and cfg.train_cfg.get('max_epochs'):
        return max_iters / cfg.train_cfg.max_epochs
    return train_size(cfg) // cfg.train_dataloader.batch_size


def build_cfg(method, impl, max_iters, work_dir, args):
    """The run's config; ``cfg.converted`` lists the hook conversions at
    ``cfg.epoch_iters`` iterations per epoch."""
    cfg = load_cfg(method, args)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.num_workers = args.num_workers
    cfg.train_dataloader.persistent_workers = args.num_workers > 0
    cfg.train_dataloader.drop_last = True
    epoch_iters = epoch_iterations(cfg, max_iters, args.epoch_rule)
    hooks, converted = iteration_hooks(cfg.get('custom_hooks', []),
                                       epoch_iters)
    if impl == 'mmpretrain':
        hooks = mmpretrain_hooks(hooks, cfg)
        cfg.model = mmpretrain_model(cfg)
    cfg.custom_hooks = hooks
    if impl == 'ours' and args.aug == 'batched':
        cfg = batched_aug_cfg(cfg)
    if impl == 'ours' and args.bf16:
        cfg.optim_wrapper = dict(cfg.optim_wrapper,
                                 type='AutocastOptimWrapper',
                                 dtype='bfloat16')
    cfg.converted, cfg.epoch_iters = converted, epoch_iters
    cfg.param_scheduler = budget_schedulers(cfg, max_iters)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook',
                                    interval=max(1, max_iters // 5))
    cfg.auto_scale_lr = dict(enable=True, base_batch_size=256)
    return cfg


class _Budget:
    """Hook: stop after ``seconds`` of training; record iteration times.

    With ``clock=True`` the run's iteration counter also follows the
    elapsed time: after each iteration it is moved on to
    ``elapsed / seconds * max_iters`` where that is ahead of it, stepping
    the parameter schedulers and the step counter of every averaged model
    (mmpretrain's ``CosineEMA``) by as many. Every iteration-keyed schedule
    (lr, weight decay, tau, the converted hook arguments, which all read
    ``runner.iter``) then depends on the fraction of the budget spent, not
    on a count planned from the calibration: when load grows mid-run, the
    run still ends its schedules at the budget (before, a DINO run planned
    at 502 iterations stopped at 215 with its lr at its peak).
    """

    def __new__(cls, seconds, clock=False):
        from mmengine.hooks import Hook
        from mmengine.model import BaseAveragedModel

        def schedulers(runner):
            groups = runner.param_schedulers or []
            if isinstance(groups, dict):
                groups = [s for g in groups.values() for s in g]
            return [s for s in groups if not s.by_epoch]

        class TimeBudgetHook(Hook):
            # after_train_iter: before ParamSchedulerHook ('LOW') steps
            priority = 'BELOW_NORMAL'

            def before_train(self, runner):
                self.start = time.perf_counter()
                self.stamps = []

            def after_train_iter(self, runner, batch_idx, data_batch=None,
                                 outputs=None):
                now = time.perf_counter()
                self.stamps.append(now)
                elapsed = now - self.start
                if elapsed >= seconds:
                    runner.train_loop.stop_training = True
                elif clock:
                    self.advance(runner, elapsed)

            def advance(self, runner, elapsed):
                loop = runner.train_loop
                # iterations done once this one is counted: loop._iter + 1
                skip = (int(elapsed / seconds * runner.max_iters)
                        - (loop._iter + 1))
                if skip <= 0:
                    return
                for sched in schedulers(runner):
                    for _ in range(skip):
                        sched.step()
                for m in runner.model.modules():
                    if isinstance(m, BaseAveragedModel):
                        m.steps += skip
                loop._iter += skip

        return TimeBudgetHook()


#: Planned iterations = this x (budget / calibrated seconds per iteration):
#: the elapsed-time clock (:class:`_Budget`) only moves the counter
#: forward, so the plan must not be reached before the budget is spent,
#: also when the calibration's first iterations (workers starting, a
#: neighbour starting) were slow: they were up to 2x slower than the run.
OVERPLAN = 2.5


def pretrain(method, impl, args, root):
    """Calibrate N, then train for the budget; returns (model, info)."""
    from mmengine.runner import Runner
    budget = args.budget_min * 60
    if args.iters:
        return _train(method, impl, args, root, args.iters, float('inf'),
                      dict(calib_s_per_iter=None))
    # calibration: 4 iterations, the last 3 timed
    cal = Runner.from_cfg(build_cfg(method, impl, 4,
                                    osp.join(root, f'{method}-{impl}-cal'),
                                    args))
    hook = _Budget(1e9)
    cal.register_hook(hook)
    cal.train()
    per_iter = (hook.stamps[-1] - hook.stamps[0]) / (len(hook.stamps) - 1)
    max_iters = max(10, int(OVERPLAN * budget / per_iter))
    del cal
    return _train(method, impl, args, root, max_iters, budget,
                  dict(calib_s_per_iter=per_iter))


def _train(method, impl, args, root, max_iters, budget, extra):
    from mmengine.runner import Runner
    cfg = build_cfg(method, impl, max_iters,
                    osp.join(root, f'{method}-{impl}'), args)
    runner = Runner.from_cfg(cfg)
    clock = budget != float('inf')  # --iters runs: no budget, no clock
    hook = _Budget(budget, clock=clock)
    runner.register_hook(hook)
    t0 = time.perf_counter()
    runner.train()
    info = dict(planned_iters=max_iters, iters=len(hook.stamps),
                clock=clock, schedule_end=runner.iter,
                seconds=time.perf_counter() - t0, **extra,
                converted=list(cfg.converted), epoch_iters=cfg.epoch_iters)
    return runner.model, info


def knn_datasets(cfg, args):
    """The probes' (bank / fit, query) data sets: the test split, or with
    ``--val N`` the last N train images (bank: the others)."""
    from ssl_plugins.evaluation import probe_splits
    return probe_splits(cfg.knn_eval, args.val, args.knn_train,
                        args.knn_test)


def probes(feats, args):
    """kNN top-1 per k and, unless ``--no-linear``, the linear probe's top-1
    (logistic regression on the cached, standardised features) of ``feats``
    (split -> (features, labels))."""
    from ssl_plugins.evaluation import linear_probe
    from ssl_plugins.evaluation.knn import knn_accuracy
    knn = {k: knn_accuracy(*feats['train'], *feats['test'], k=k)['top1']
           for k in args.k}
    linear = (None if args.no_linear else
              linear_probe(*feats['train'], *feats['test'])['top1'])
    return dict(knn=knn, linear=linear)


def probe_backbone(model, datasets, args, source=None):
    """:func:`probes` of ``model.backbone``, or with ``source='teacher'`` of
    the momentum teacher's (``model.target.backbone``)."""
    from ssl_plugins.evaluation import extract_features
    from ssl_plugins.models.utils.backbone_sources import backbone_module
    backbone = backbone_module(model, source or 'online')
    return probes({s: extract_features(backbone, model.data_preprocessor, ds,
                                       batch_size=500)
                   for s, ds in datasets.items()}, args)


def probe_raw_pixels(datasets, args):
    """:func:`probes` of the raw images (L2-normalised pixels for the kNN,
    standardised ones for the linear probe)."""
    from ssl_plugins.evaluation import pixel_features
    return probes({s: pixel_features(ds) for s, ds in datasets.items()},
                  args)


def describe_backbone(backbone):
    """Short name of a backbone config for the random-init rows."""
    kind = str(backbone['type']).split('.')[-1]
    width = backbone.get('base_channels')
    depth = backbone.get('depth')
    return (kind + (f'-{depth}' if depth else '')
            + (f' w{width}' if width else '')
            + f', zero_init_residual='
            f'{backbone.get("zero_init_residual", True)}')


def write_markdown(path, results, args, env, command):
    ks = args.k
    head = ('| backbone | implementation | iterations in budget | '
            + ' | '.join(f'kNN top-1, k={k}' for k in ks)
            + ' | linear probe top-1 |')
    lines = [BEGIN, '',
             f'Measured {env["date"]} on {env["cpu"]} ({env["cpus"]} cores, '
             f'shared with other jobs: a *contended* machine), '
             f'{args.threads} torch thread(s); torch {env["torch"]}, '
             f'mmengine {env["mmengine"]}, mmpretrain {env["mmpretrain"]}.',
             f'Budget: **{args.budget_min:g} min of pretraining per method '
             f'and implementation** (wall clock, data loading included); '
             + (f'VALIDATION SPLIT (not the test split): kNN memory bank '
                f'and linear fit on the first train images, evaluated on '
                f'the last {getattr(args, "val", 0)} train images; weighted '
                if getattr(args, 'val', 0) else
                f'kNN memory bank: {args.knn_train or 60000} train images, '
                f'evaluated on {args.knn_test or 10000} test images; '
                'weighted ')
             + 'kNN, T=0.07, BN in eval mode with its running statistics, '
             'pooled last stage, L2-normalised; linear probe: logistic '
             'regression on the same features, cached and standardised, '
             'its L2 strength chosen on 10% of the train split '
             '(`ssl_plugins.evaluation.linear_probe`); raw pixels: the '
             'images in [0, 1], L2-normalised for the kNN. Each method is '
             'shown with the randomly initialised network of its own '
             'config, with its '
             'BN layers as initialised (identities in eval mode) and with '
             'the BN statistics of the train images (the lr-0 control). '
             'Ours runs its photometric augmentations on the batch '
             '(`BatchedAugmentDataPreprocessor`, same draws as the '
             'config\'s per-image ops), mmpretrain\'s per image in the '
             'loader, as its configs. '
             'Iterations: those trained in the budget; every schedule (lr, '
             'weight decay, momentum, the hooks\' iteration-keyed '
             'arguments) follows the elapsed fraction of the budget and '
             'ends with it ("N of M": a run of an earlier version, which '
             'planned M iterations and was stopped at N).',
             '',
             'Command:', '', '```', command, '```', '', head,
             '|' + '---|' * (4 + len(ks))]
    notes = []
    for row in results:
        knn = [f'{row["knn"][k]:.2f}' if row.get('knn') else 'n/a'
               for k in ks]
        knn.append(f'{row["linear"]:.2f}' if row.get('linear') is not None
                   else 'n/a')
        iters = row.get('iters', '-')
        if (isinstance(iters, int) and not row.get('clock')
                and iters < row.get('planned_iters', 0)):
            iters = f'{iters} of {row["planned_iters"]}'
        lines.append(f'| {row["name"]} | {row["impl"]} | {iters} | '
                     + ' | '.join(knn) + ' |')
        if row.get('knn_student'):
            notes.append(f'- {row["name"]}, {row["impl"]}: the student\'s '
                         'backbone: ' + ', '.join(
                             f'{row["knn_student"][k]:.2f}' for k in ks)
                         + f' (k = {", ".join(map(str, ks))})'
                         + (f', linear probe {row["linear_student"]:.2f}'
                            if row.get('linear_student') is not None
                            else '') + '.')
        if row.get('note'):
            notes.append(f'- {row["name"]}, {row["impl"]}: {row["note"]}.')
        if row.get('converted'):
            notes.append(f'- {row["name"]}, {row["impl"]}: '
                         + '; '.join(row['converted'])
                         + f' (1 epoch = {row["epoch_iters"]:g} iterations, '
                         f'--epoch-rule {args.epoch_rule}).')
    if notes:
        lines += ['', 'Notes per row: epoch-keyed recipe hooks converted '
                  'to iterations (named as in our configs; mmpretrain\'s '
                  'SwAV runs get the same values in its `SwAVHook`; rules in '
                  'the docstring of `benchmarks/quality.py`), the kNN of the '
                  'student where the table reads the teacher, and missing '
                  'rows:', ''] + notes
    lines += ['', END]
    block = '\n'.join(lines)
    from benchmarks.markdown import replace_block
    replace_block(path, BEGIN, END, block)


def random_init_knn(cfg, datasets, args, cache):
    """kNN of the config's network at its initialisation (seeded), computed
    once per distinct backbone (and data preprocessor), in two versions:
    ``'init'``: BN layers as initialised (running mean 0, variance 1: in eval
    mode each BN is an identity up to its affine init, so the network is a
    plain random ReLU network); ``'data'``: the same weights with the BN
    statistics of the kNN train images (``recalibrate_bn``), as a
    pretrained network has them: the control for what pretraining adds
    beyond BN statistics (a run at lr 0)."""
    key = json.dumps([cfg.model.backbone.to_dict(),
                      cfg.model.data_preprocessor.to_dict()],
                     sort_keys=True, default=str)
    if key not in cache:
        import torch

        from ssl_plugins.registry import MODELS
        torch.manual_seed(args.seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
        init = probe_backbone(model, datasets, args)
        from ssl_plugins.evaluation import recalibrate_bn
        recalibrate_bn(model.backbone, model.data_preprocessor,
                       datasets['train'])
        cache[key] = dict(init=init,
                          data=probe_backbone(model, datasets, args))
    return cache[key]


#: Arguments a --json file records for --merge.
RUN_ARGS = ('budget_min', 'epoch_rule', 'k', 'threads', 'knn_train',
            'knn_test', 'iters', 'no_linear', 'val')


def merge(args):
    """The table of several ``--json`` runs: rows in method order (raw
    pixels, then per method: random init, ours, mmpretrain), the first of
    duplicated baseline rows kept; the runs must share :data:`RUN_ARGS`."""
    runs = []
    for path in args.merge:
        with open(path) as f:
            runs.append(json.load(f))
    first = runs[0]['args']
    for path, run in zip(args.merge, runs):
        diff = {k: (first.get(k), run['args'].get(k)) for k in RUN_ARGS
                if run['args'].get(k) != first.get(k)}
        if diff:
            raise ValueError(f'--merge: {path} was run with other settings '
                             f'than {args.merge[0]}: {diff}')
    rows, seen = [], set()
    for run in runs:
        for row in run['results']:
            key = (row['name'], row['impl'])
            if key not in seen:
                seen.add(key)
                for key in ('knn', 'knn_student'):
                    if row.get(key):
                        row[key] = {int(k): v for k, v in row[key].items()}
                rows.append(row)
    order = ['raw pixels'] + list(CONFIGS)
    rows.sort(key=lambda r: (order.index(r['name']),
                             0 if r['impl'].startswith('random init') else
                             1 if r['impl'].startswith('ours') else 2))
    for k, v in first.items():
        setattr(args, k, v)
    command = '\n'.join(run['command'] + ' &' for run in runs) + (
        '\nwait\npython benchmarks/quality.py --merge '
        + ' '.join(args.merge))
    write_markdown(args.markdown, rows, args, runs[0]['env'], command)
    return rows


def main(argv=None):
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
            with open(args.json, 'w') as f:
                json.dump(dict(env=env, results=results, command=command,
                               args={k: getattr(args, k) for k in RUN_ARGS}),
                          f, indent=1)
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
