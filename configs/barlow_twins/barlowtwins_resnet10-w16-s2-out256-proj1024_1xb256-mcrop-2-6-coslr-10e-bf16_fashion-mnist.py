# Multi-crop Barlow Twins on the demo's network: the CPU config
# (barlowtwins_resnet10-w16-s2-out256-proj1024_1xb256-coslr-10e-bf16_..., whose
# header names its budget changes) with 2 global crops of 28 px + 6 local crops
# of 12 px ("-mcrop-2-6"). Not in the Barlow Twins paper: the loss of every
# (global, other view) pair, averaged; local crops leave the backbone's BN
# running statistics alone. Crops: ../_base_/datasets/fashion_mnist_byol.py
# (mcrop_train_pipeline). Measured against the 2-view config at equal wall
# clock in docs/benchmarks.md ("Multi-crop at equal wall clock").
_base_ = [
    './barlowtwins_resnet10-w16-s2-out256-proj1024_1xb256-coslr-10e-bf16_'
    'fashion-mnist.py'
]

model = dict(num_global_views=2)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mcrop_train_pipeline}}))
