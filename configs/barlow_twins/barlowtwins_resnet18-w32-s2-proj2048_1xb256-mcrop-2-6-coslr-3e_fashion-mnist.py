# Multi-crop Barlow Twins on Fashion-MNIST: the CPU config
# (barlowtwins_resnet18-w32-s2-proj2048_1xb256-coslr-3e_fashion-mnist.py, whose
# header names its budget changes) with 2 global crops of 28 px + 6 local crops
# of 12 px ("-mcrop-2-6"). Not in the Barlow Twins paper: the loss of every
# (global, other view) pair, averaged; local crops leave the backbone's BN
# running statistics alone. Crops: ../_base_/datasets/fashion_mnist_byol.py.
_base_ = [
    './barlowtwins_resnet18-w32-s2-proj2048_1xb256-coslr-3e_fashion-mnist.py'
]

model = dict(num_global_views=2)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mcrop_train_pipeline}}))
