# Fashion-MNIST with SwAV's multi-crop scaled to 28 px images (data root,
# normalisation, loader and kNN settings from fashion_mnist_byol.py):
# 2 global crops 28 px, scale (0.14, 1) + 6 local crops 12 px
# (= 28 x 96/224), scale (0.05, 0.14); flip p=0.5; colour jitter
# 0.8/0.8/0.8/0.2 p=0.8 (saturation/hue are no-ops on grey), grey p=0.2 (a
# no-op here, kept for parity). Gaussian blur dropped: sigma 0.1-2.0 px is for
# 224 px crops; scaled to 28 px it is below 0.25 px (as the BYOL base).
_base_ = ['./fashion_mnist_byol.py']

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

# official: drop_last=True (the queue and the equipartition assume full
# batches)
train_dataloader = dict(drop_last=True, dataset=dict(pipeline=train_pipeline))
