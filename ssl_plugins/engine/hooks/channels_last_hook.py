"""Put the model's 4-D weights in channels_last memory format before training."""
import torch
from mmengine.hooks import Hook

from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """``model.to(memory_format=torch.channels_last)`` before training.

    Same values, different memory layout: convolutions on channels_last
    weights produce channels_last activations (NHWC), which oneDNN on CPUs
    and cuDNN on tensor-core GPUs run faster (measured in
    ``benchmarks/speed.py``: ~0.8x of the NCHW iteration on a Xeon CPU,
    0.58-0.67x on an H200 for ResNet-18 at 224 px; the ResNet GPU configs
    ship with it).
    Parameters keep their identity, so the optimizer built by the Runner
    still updates them. Under DDP, prefer converting the model before it is
    wrapped (DDP's gradient buckets follow the strides seen at wrap time;
    converting later costs a copy per bucket, not correctness).
    Pair with ``BatchedAugmentDataPreprocessor(channels_last=True)`` to
    convert the inputs once in the preprocessor.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        runner.model.to(memory_format=torch.channels_last)
