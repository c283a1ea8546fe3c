"""Put the model's 4-D weights in channels_last memory format for training.

DDP lays out its gradient buckets with the parameters' strides when it is
built, and mmengine's Runner wraps the model in ``Runner.__init__``, before
any hook is registered. A model converted by a hook only afterwards gives
NHWC gradients to NCHW bucket views: torch warns 'Grad strides do not match
bucket view strides' on every rank, and the gradients are copied into
buckets of the other layout.

So the Runner's ``wrap_model`` (replaced in
:mod:`ssl_plugins.compat.cpu_distributed`, CPU and CUDA paths alike) asks
:func:`channels_last_requested` whether the config lists a
:class:`ChannelsLastHook` and, if so, builds the wrapper with
:func:`wrap_with_channels_last_layout`: the 4-D weights are channels_last
while DDP lays out its buckets and get their own layout back right after.
The hook converts them for good in ``before_train`` as before, i.e. after
``init_weights`` and checkpoint loading: in-place random initialisers draw
in memory order, so initialising channels_last weights would give other
values than the NCHW run with the same seed.
"""
import weakref
from typing import Any, Callable, Dict, Iterable, Optional, Union

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

from ssl_plugins.registry import HOOKS


def _channels_last_strides(param: torch.Tensor) -> tuple:
    """The strides ``param.to(memory_format=torch.channels_last)`` gives."""
    return torch.empty(param.shape, memory_format=torch.channels_last,
                       device='meta').stride()


def is_channels_last(model: nn.Module) -> bool:
    """Whether every 4-D parameter of ``model`` has channels_last strides.

    Compares the strides themselves, as DDP does: a 1x1 convolution's NCHW
    weight passes ``is_contiguous(memory_format=torch.channels_last)`` with
    strides that differ from the converted ones.

    Args:
        model (nn.Module): the model (or a wrapper around it).

    Returns:
        bool: True if no 4-D parameter still needs converting (also when the
        model has no 4-D parameter at all).
    """
    return all(p.stride() == _channels_last_strides(p)
               for p in model.parameters() if p.dim() == 4)


def convert_to_channels_last(model: nn.Module) -> nn.Module:
    """Convert the 4-D parameters and buffers to channels_last in place.

    ``nn.Module.to`` replaces each tensor's ``data``, so the parameters keep
    their identity (an optimizer holding them still updates them).

    Args:
        model (nn.Module): the model to convert.

    Returns:
        nn.Module: ``model`` itself.
    """
    return model.to(memory_format=torch.channels_last)


def _is_channels_last_hook(hook_cfg: Any) -> bool:
    """Whether one ``custom_hooks``/``default_hooks`` entry is our hook."""
    if isinstance(hook_cfg, ChannelsLastHook):
        return True
    if not isinstance(hook_cfg, dict):
        return False
    hook_type = hook_cfg.get('type')
    if isinstance(hook_type, str):
        try:  # our registry also resolves 'ssl_plugins.X' and its parents'
            hook_type = HOOKS.get(hook_type)
        except Exception:  # an unknown scope: not ours
            return False
    return isinstance(hook_type, type) and issubclass(hook_type,
                                                      ChannelsLastHook)


def channels_last_requested(cfg: Optional[Union[Config, dict]]) -> bool:
    """Whether a Runner config registers a :class:`ChannelsLastHook`.

    Looks at ``custom_hooks`` (a list, or a single entry) and at the values of
    ``default_hooks``; an entry may be a config dict whose ``type`` is a
    registered name or the class, or a hook instance. Subclasses count.

    Args:
        cfg (Config or dict, optional): the Runner's config
            (``runner.cfg``).

    Returns:
        bool: True if the wrapper should be built on channels_last weights.
    """
    if not cfg:
        return False
    custom = cfg.get('custom_hooks') or []
    if not isinstance(custom, (list, tuple)):
        custom = [custom]
    defaults: Iterable = (cfg.get('default_hooks') or {}).values()
    return any(_is_channels_last_hook(h) for h in [*custom, *defaults])


# wrappers built by wrap_with_channels_last_layout (for the hook's check)
_CHANNELS_LAST_WRAPPERS: 'weakref.WeakSet[nn.Module]' = weakref.WeakSet()


def _set_layout(param: nn.Parameter, stride: tuple) -> None:
    """Give ``param`` (same object, same values) the strides ``stride``."""
    data = torch.empty_strided(param.shape, stride, dtype=param.dtype,
                               device=param.device)
    data.copy_(param.data)
    param.data = data


def wrap_with_channels_last_layout(
        model: nn.Module,
        wrap: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """Build a wrapper (DDP) while ``model``'s 4-D weights are channels_last.

    DDP takes the layout of its gradient buckets from the parameters'
    strides at construction; building it on channels_last weights makes the
    buckets match the gradients once :class:`ChannelsLastHook` has converted
    the model. Right after the wrap each weight gets its previous strides
    back (same values, same ``nn.Parameter``), so weight initialisation and
    checkpoint loading see the model as without the hook.

    Args:
        model (nn.Module): the bare model.
        wrap (Callable[[nn.Module], nn.Module]): builds the wrapper (may move
            the model to another device, as mmengine's ``wrap_model`` does).

    Returns:
        nn.Module: what ``wrap`` returned.
    """
    before: Dict[str, tuple] = {}
    for name, param in model.named_parameters():
        if param.dim() == 4:
            before[name] = param.stride()
            _set_layout(param, _channels_last_strides(param))
    wrapped = wrap(model)
    bare = wrapped.module if is_model_wrapper(wrapped) else wrapped
    for name, param in bare.named_parameters():
        if name in before and param.stride() != before[name]:
            _set_layout(param, before[name])
    if is_model_wrapper(wrapped):
        _CHANNELS_LAST_WRAPPERS.add(wrapped)
    return wrapped


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
    still updates them.

    Under DDP the wrapper must be built on channels_last weights (DDP lays
    out its gradient buckets with the strides it sees then; otherwise torch
    warns 'Grad strides do not match bucket view strides' and copies every
    bucket on every step). With ``ssl_plugins`` imported, a Runner whose
    config lists this hook in ``custom_hooks`` or ``default_hooks`` does so
    in ``wrap_model`` (:func:`wrap_with_channels_last_layout`). A Runner
    built without a config (``Runner(model=..., custom_hooks=[
    ChannelsLastHook()])``) cannot be seen at wrap time: the hook then warns
    under DDP; convert such a model with :func:`convert_to_channels_last`
    before building the Runner instead (its random initialisation then
    differs from the NCHW model's).

    Pair with ``BatchedAugmentDataPreprocessor(channels_last=True)`` to
    convert the inputs once per batch in the preprocessor.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        """Convert the model, after its initialisation and loading.

        Args:
            runner (Runner): the runner; only ``runner.model`` is used.
        """
        model = runner.model
        if is_channels_last(model):
            return
        if (isinstance(model, nn.parallel.DistributedDataParallel)
                and model not in _CHANNELS_LAST_WRAPPERS):
            print_log('ChannelsLastHook: the model was wrapped in DDP on NCHW '
                      'weights; its gradient buckets will not match the '
                      'channels_last gradients (a copy per bucket and step). '
                      "List the hook in the Runner's config (custom_hooks) "
                      'or convert the model before building the Runner.',
                      logger='current', level=30)
        convert_to_channels_last(model)
