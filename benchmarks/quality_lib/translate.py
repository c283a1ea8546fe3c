"""mmpretrain's implementation of our config: its model of the same
network, and our recipe hooks as its own (``CosineEMA``, ``SwAVHook``)."""
import functools

from benchmarks.quality_lib.augment import has_batched_aug
from benchmarks.quality_lib.iterations import hook_args, hook_class


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
