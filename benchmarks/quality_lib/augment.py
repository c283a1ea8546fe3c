"""``--aug batched``: a config's per-image photometric augmentations moved
from the loader to the batch (``BatchedAugmentDataPreprocessor``)."""


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
