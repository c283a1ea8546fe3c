"""Checkpoints that ``torch.load(weights_only=True)`` reads without us."""
from mmengine.hooks import Hook

from ssl_plugins.compat.plain_checkpoint import (from_plain, non_plain_paths,
                                                 to_plain)
from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Store each checkpoint in types a plain ``torch.load`` accepts.

    torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
    writes the message hub's ``HistoryBuffer`` objects and numpy scalars into
    training checkpoints: tools that never import ``ssl_plugins``
    (mmpretrain's ``tools/train.py`` with ``init_cfg=dict(type='Pretrained',
    prefix='backbone.')``, a bare ``torch.load``) fail on such a file. Before
    a checkpoint is written this hook replaces those objects, anywhere in the
    checkpoint, by tagged dicts of tensors and numbers
    (:func:`ssl_plugins.compat.plain_checkpoint.to_plain`); the random states
    are stored plainly by :class:`RNGStateHook` itself.

    Our loader (:func:`ssl_plugins.compat.safe_torch_load`, used by resume,
    ``load_from`` and ``Pretrained``) restores the original objects with
    their dtypes and values, so a resume continues exactly; so does this
    hook's ``after_load_checkpoint`` for a checkpoint read by another loader.

    The priority is ``'LOWEST'``: among the hooks of a config it runs last
    before a save, after every hook that adds an entry (RNG states, SwAV's
    queue, DINO's centre). Entries it cannot convert (an object of another
    class) are named in a warning, or an error with ``strict=True``; the file
    is then still readable with ``safe_torch_load`` only if its classes are
    on that loader's allow-list.

    Args:
        strict (bool): Raise ``TypeError`` instead of warning when something
            is left that ``weights_only=True`` refuses; the checkpoint is then
            not written. Defaults to False.
    """

    priority = 'LOWEST'

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self._warned = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            checkpoint[key] = to_plain(checkpoint[key])
        left = non_plain_paths(checkpoint)
        if not left:
            return
        message = ('PlainCheckpointHook: torch.load(weights_only=True) '
                   'cannot read ' + ', '.join(left) + ' of this checkpoint; '
                   'tools without ssl_plugins will refuse the file. Store '
                   'tensors, numbers, strings, lists and dicts instead.')
        if self.strict:
            raise TypeError(message)
        if not self._warned:
            runner.logger.warning(message)
            self._warned = True

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # a no-op after safe_torch_load, which restored everything already
        for key in list(checkpoint):
            checkpoint[key] = from_plain(checkpoint[key])
