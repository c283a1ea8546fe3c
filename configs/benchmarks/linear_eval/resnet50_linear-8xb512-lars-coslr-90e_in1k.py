# Linear evaluation of a pretrained ResNet-50 on ImageNet, LARS protocol of
# SimSiam (Chen & He 2021, App. A) and SimCLR: batch 4096 (8 GPUs x 512),
# LARS, lr = 0.1 x 4096 / 256 = 1.6, no weight decay, 90 epochs cosine, on a
# frozen backbone. Same data and model as the SGD protocol next to it.
_base_ = ['./resnet50_linear-8xb32-sgd-coslr-100e_in1k.py']

train_dataloader = dict(batch_size=512)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=1.6, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=0, end=90)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=90, val_interval=10)
auto_scale_lr = dict(base_batch_size=4096)
