# Fashion-MNIST (28x28 grey, repeated to 3 channels) with BYOL's asymmetric
# two-view augmentation adapted to 28 px images:
# - crop 28 px, scale (0.2, 1) instead of the paper's (0.08, 1): 8% of a
#   28 px image is an 8 px patch (BYOL after one epoch, kNN k=20: 68.6% with
#   0.2 vs 61.6% with 0.08); flip as the paper;
# - colour jitter 0.4/0.4/0.2/0.1 p=0.8 (saturation/hue act as no-ops on
#   grey), greyscale p=0.2 (a no-op here, kept for parity);
# - solarize p=0.0 / 0.2 (as the paper);
# - Gaussian blur dropped: the paper's sigma 0.1-2.0 px is for 224 px crops;
#   scaled to 28 px it is below 0.25 px, i.e. no blur at all.
data_root = '/usr/share/datasets/fashion-mnist'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[72.94, 72.94, 72.94],  # Fashion-MNIST train mean/std x 255
    std=[90.02, 90.02, 90.02])


def _view(solarize_prob):
    return [
        dict(type='RandomApply',
             transforms=[dict(type='ColorJitter', brightness=0.4,
                              contrast=0.4, saturation=0.2, hue=0.1)],
             prob=0.8),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
        dict(type='Solarize', thr=128, prob=solarize_prob),
    ]


train_pipeline = [
    dict(type='MultiCrop', num_crops=(1, 1), crop_sizes=(28, 28),
         crop_scales=((0.2, 1.), (0.2, 1.)),
         transforms=[_view(0.0), _view(0.2)]),
    dict(type='PackInputs'),
]
# Multi-crop form (the `*_mcrop-2-6_*` configs of BYOL and Barlow Twins): the
# two views above as global crops, plus 6 local crops of 12 px (SwAV's and
# DINO's 96/224 of the global size), scale (0.05, 0.2) (below the global
# crops' minimum, as SwAV's 0.05-0.14 below 0.14), photometric as view 1.
mcrop_train_pipeline = [
    dict(type='MultiCrop', num_crops=(1, 1, 6), crop_sizes=(28, 28, 12),
         crop_scales=((0.2, 1.), (0.2, 1.), (0.05, 0.2)),
         transforms=[_view(0.0), _view(0.2), _view(0.0)]),
    dict(type='PackInputs'),
]
del _view

train_dataloader = dict(
    batch_size=256,
    # one loader worker beside one compute thread (OMP_NUM_THREADS=1) keeps
    # 2 cores busy without oversubscription
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='train',
                 with_label=False, pipeline=train_pipeline))

# Feature extraction for kNN evaluation (tools/knn_eval.py): no augmentation.
knn_eval = dict(
    batch_size=1000,
    train=dict(type='FashionMNIST', data_root=data_root, split='train',
               pipeline=[dict(type='PackInputs')]),
    test=dict(type='FashionMNIST', data_root=data_root, split='test',
              pipeline=[dict(type='PackInputs')]),
)
