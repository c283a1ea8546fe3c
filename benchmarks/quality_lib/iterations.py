"""Epoch -> iteration conversion for an iteration-based run of an
epoch-based config: epoch-keyed hook arguments become their iteration-keyed
twins, and the parameter schedules are compressed onto the run's
iterations (rules in the docstring of ``benchmarks/quality.py``)."""
import functools
import inspect
import json

#: Epoch-keyed hook arguments -> their iteration-keyed twins (the hook class
#: name; the argument's default applies when the config omits it).
EPOCH_ARGS = {
    'SwAVQueueHook': ('start_epoch', 'start_iter'),
    'FreezeLastLayerHook': ('freeze_epochs', 'freeze_iters'),
    'TeacherTempWarmupHook': ('warmup_epochs', 'warmup_iters'),
}


def hook_class(hook):
    from ssl_plugins.registry import HOOKS
    kind = hook['type']
    return kind if isinstance(kind, type) else HOOKS.get(kind)


def hook_args(hook):
    """The hook's arguments, the class defaults filled in."""
    params = inspect.signature(hook_class(hook).__init__).parameters
    args = {name: p.default for name, p in params.items()
            if p.default is not inspect.Parameter.empty}
    args.update(hook)
    return args


def iteration_hooks(hooks, epoch_iters):
    """``hooks`` with their epoch-keyed arguments (:data:`EPOCH_ARGS`) as
    iterations at ``epoch_iters`` iterations per epoch; returns (hooks,
    ['Hook arg=E -> arg=I', ...])."""
    out, notes = [], []
    for hook in hooks:
        hook, cls = dict(hook), hook_class(hook)
        if cls.__name__ in EPOCH_ARGS:
            epoch_arg, iter_arg = EPOCH_ARGS[cls.__name__]
            if hook.get(iter_arg) is None:
                epochs = hook_args(hook)[epoch_arg]
                hook.pop(epoch_arg, None)
                hook[iter_arg] = int(round(epochs * epoch_iters))
                notes.append(f'{cls.__name__} {epoch_arg}={epochs:g} -> '
                             f'{iter_arg}={hook[iter_arg]}')
        elif any('epoch' in name for name in hook_args(hook)):
            raise NotImplementedError(
                f'{cls.__name__} has an epoch-keyed argument; add its '
                'iteration-keyed twin to EPOCH_ARGS in '
                'benchmarks/quality_lib/iterations.py')
        out.append(hook)
    return out, notes


@functools.lru_cache()
def _train_size(dataset_json):
    from ssl_plugins.registry import DATASETS
    return len(DATASETS.build(dict(json.loads(dataset_json), pipeline=[])))


def train_size(cfg):
    """Number of images of the config's train set."""
    return _train_size(json.dumps(cfg.train_dataloader.dataset.to_dict(),
                                  sort_keys=True, default=str))


def budget_schedulers(cfg, max_iters):
    """10% linear warm-up + cosine of the lr over ``max_iters``, plus the
    config's other parameter schedules compressed onto ``max_iters``."""
    warm = max(1, max_iters // 10)
    out = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
             end=warm),
        dict(type='CosineAnnealingLR', by_epoch=False, begin=warm,
             end=max(max_iters, warm + 1), T_max=max(1, max_iters - warm)),
    ]
    epochs = cfg.train_cfg.get('max_epochs')
    for sched in cfg.get('param_scheduler', []):
        sched = dict(sched)
        kind = getattr(sched['type'], '__name__', str(sched['type']))
        if kind.endswith('LR') or sched.get('param_name') == 'lr':
            continue  # replaced above
        if sched.get('by_epoch', True):
            length = epochs
        else:
            length = cfg.train_cfg.get('max_iters') or (
                epochs * (train_size(cfg) // cfg.train_dataloader.batch_size))
        for key in ('begin', 'end', 'T_max'):
            if key in sched:
                sched[key] = int(round(sched[key] * max_iters / length))
        sched['by_epoch'] = False
        sched.pop('convert_to_iter_based', None)
        out.append(sched)
    return out


def epoch_iterations(cfg, max_iters, rule):
    """Iterations that stand for one epoch of the config (``--epoch-rule``)."""
    if rule == 'budget' and cfg.train_cfg.get('max_epochs'):
        return max_iters / cfg.train_cfg.max_epochs
    return train_size(cfg) // cfg.train_dataloader.batch_size
