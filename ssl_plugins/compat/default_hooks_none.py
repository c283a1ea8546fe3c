"""``default_hooks=dict(name=None)`` removes any hook, not only mmengine's six.

mmengine 0.10.7's ``Runner.register_default_hooks`` pops a ``None`` entry
only for its own six default hooks and asserts on any other name, so a
config cannot switch off a default hook that a base config added (ours:
``rng_state``, ``divergence_guard``). With this fix a ``None`` entry of
any name is dropped before mmengine sees it.
"""
from mmengine.runner import Runner

_MARK = '_ssl_plugins_none_hooks'


def patch_default_hooks_none() -> None:
    original = Runner.register_default_hooks
    if getattr(original, _MARK, False):
        return

    def register_default_hooks(self, hooks=None):
        if hooks is not None:
            keep = {'runtime_info', 'timer', 'sampler_seed', 'logger',
                    'param_scheduler', 'checkpoint'}
            hooks = {name: hook for name, hook in hooks.items()
                     if hook is not None or name in keep}
        return original(self, hooks)

    setattr(register_default_hooks, _MARK, True)
    Runner.register_default_hooks = register_default_hooks
