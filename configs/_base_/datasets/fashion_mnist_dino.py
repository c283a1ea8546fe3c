# Fashion-MNIST (28x28 grey, repeated to 3 channels) with DINO's multi-crop
# (Caron et al. 2021, App. D / official DataAugmentationDINO) scaled to
# 28 px images:
# - 2 global crops 28 px, scale (0.4, 1) (the ViT-S recipe's 224 px, 0.4-1)
#   and 6 local crops 12 px (96/224 of the global size), scale (0.05, 0.4);
#   the paper uses 10 local crops, 6 keep the CPU demo short;
# - flip, colour jitter 0.4/0.4/0.2/0.1 p=0.8 and greyscale p=0.2 on every
#   crop (saturation/hue/greyscale are no-ops on grey images, kept for
#   parity); solarize p=0.2 on the second global crop only;
# - Gaussian blur dropped: the paper's radius 0.1-2.0 px is for 224 px crops;
#   scaled to 28 px it is below 0.25 px, i.e. no blur at all.
data_root = '/usr/share/datasets/fashion-mnist'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[72.94, 72.94, 72.94],  # Fashion-MNIST train mean/std x 255
    std=[90.02, 90.02, 90.02])


def _photometric(solarize_prob):
    return [
        dict(type='RandomApply',
             transforms=[dict(type='ColorJitter', brightness=0.4,
                              contrast=0.4, saturation=0.2, hue=0.1)],
             prob=0.8),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
             channel_weights=(0.114, 0.587, 0.299)),
        dict(type='Solarize', thr=128, prob=solarize_prob),
    ]


train_pipeline = [
    dict(type='MultiCrop',
         num_crops=(1, 1, 6),
         crop_sizes=(28, 28, 12),
         crop_scales=((0.4, 1.), (0.4, 1.), (0.05, 0.4)),
         transforms=[_photometric(0.0), _photometric(0.2), _photometric(0.0)],
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
# Without multi-crop (dino_*_mcrop-2-0_*): the 2 global crops alone, the
# "2x224" setting of the paper's multi-crop ablation.
global_crops_train_pipeline = [
    dict(type='MultiCrop',
         num_crops=(1, 1),
         crop_sizes=(28, 28),
         crop_scales=((0.4, 1.), (0.4, 1.)),
         transforms=[_photometric(0.0), _photometric(0.2)],
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
del _photometric

train_dataloader = dict(
    batch_size=256,
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
