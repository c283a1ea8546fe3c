# BYOL on your own folder of images, one GPU (docs/custom_data.md).
# The ImageNet recipe (byol_resnet50_16xb256-coslr-200e_in1k.py: BYOL's
# augmentations, LARS, tau 0.996 -> 1) with the changes the file name says:
# - "resnet18": mmpretrain's ResNet-18 (512-d features) and plain BN (one
#   process; SyncBN needs a process group);
# - "1xb64": batch 64 on one GPU, the lr scaled linearly from the paper's
#   0.2 x bs/256 (auto_scale_lr: base 4096 -> lr 3.2 x 64/4096 = 0.05);
# - "100e": 100 epochs, 10 of warm-up.
# Set data_root to your folder: every image under it, in any sub-folders,
# is used without labels. knn_eval (optional) needs a labelled train/val
# pair in mmpretrain's CustomDataset layout (one sub-folder per class).
_base_ = ['./byol_resnet50_16xb256-coslr-200e_in1k.py']

data_root = 'data/my_images'
knn_root = 'data/my_labelled'

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(_delete_=True, type='CustomDataset', data_root=data_root,
                 with_label=False, pipeline={{_base_.train_pipeline}}))

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, norm_cfg=dict(type='BN1d')),
    head=dict(predictor=dict(norm_cfg=dict(type='BN1d'))))

optim_wrapper = dict(optimizer=dict(lr=0.05))
max_epochs = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 10, by_epoch=True,
         begin=10, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=64)

_knn_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
# tools/knn_eval.py CONFIG CKPT [--linear]: weighted kNN and a linear probe
# on the backbone's pooled features, labels from the sub-folder names
knn_eval = dict(
    train=dict(type='CustomDataset', data_root=knn_root, data_prefix='train',
               pipeline=_knn_pipeline),
    test=dict(type='CustomDataset', data_root=knn_root, data_prefix='val',
              pipeline=_knn_pipeline),
    batch_size=64)
