# Fashion-MNIST (28x28 grey, repeated to 3 channels) with SwAV's multi-crop
# scaled to 28 px images: 2 global crops 28 px, scale (0.14, 1) + 6 local
# crops 12 px (= 28 x 96/224), scale (0.05, 0.14); flip p=0.5; colour jitter
# 0.8/0.8/0.8/0.2 p=0.8 (saturation/hue are no-ops on grey), grey p=0.2 (a
# no-op here, kept for parity). Gaussian blur dropped: sigma 0.1-2.0 px is for
# 224 px crops; scaled to 28 px it is below 0.25 px (see the BYOL base).
data_root = '/usr/share/datasets/fashion-mnist'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[72.94, 72.94, 72.94],  # Fashion-MNIST train mean/std x 255
    std=[90.02, 90.02, 90.02])

swav_view = [
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.8, contrast=0.8,
                          saturation=0.8, hue=0.2)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
]

train_pipeline = [
    dict(type='MultiCrop', num_crops=(2, 6), crop_sizes=(28, 12),
         crop_scales=((0.14, 1.), (0.05, 0.14)),
         transforms=[swav_view, swav_view]),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
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
