"""Keep the learning rate of some parameter groups fixed (SimSiam's
predictor)."""
from mmengine.hooks import Hook

from ssl_plugins.registry import HOOKS


@HOOKS.register_module()
class FixedLrHook(Hook):
    """Reset every param group flagged ``fix_lr=True`` to its base lr before
    each iteration.

    SimSiam (Chen & He 2021, §4.2 and the official ``fix_lr`` flag): the
    predictor keeps the base lr while the rest follows the cosine schedule.
    Flag the groups with ``paramwise_cfg=dict(custom_keys={'head.predictor':
    dict(fix_lr=True)})``; the schedulers stay untouched. The base lr is the
    group's ``initial_lr`` (set by mmengine's schedulers before any step, so
    warm-up and lr multipliers are accounted for), stored once as
    ``fixed_lr`` so that it survives resuming.

    Resets before every iteration, so it holds under iteration-based and
    epoch-based schedules alike (mmpretrain's ``SimSiamHook`` resets once per
    epoch by default, and the predictor's lr decays within the epoch under an
    iteration-based schedule). It resets again after the schedulers' steps
    (priority 80: after ``ParamSchedulerHook``, LOW=70, and before
    ``CheckpointHook``, VERY_LOW=90), so checkpoints hold the fixed value.
    """

    priority = 80

    def before_train(self, runner) -> None:
        groups = [
            g for g in runner.optim_wrapper.optimizer.param_groups
            if g.get('fix_lr', False)
        ]
        if not groups:
            raise ValueError(
                'FixedLrHook: no param group has fix_lr=True; set '
                'optim_wrapper.paramwise_cfg='
                "dict(custom_keys={'<module name>': dict(fix_lr=True)}) in "
                'the config')
        for group in groups:
            group.setdefault('fixed_lr', group.get('initial_lr', group['lr']))

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        fix_param_group_lrs(runner.optim_wrapper.optimizer)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        fix_param_group_lrs(runner.optim_wrapper.optimizer)

    def after_train_epoch(self, runner) -> None:
        fix_param_group_lrs(runner.optim_wrapper.optimizer)


def fix_param_group_lrs(optimizer) -> None:
    """Set ``lr = fixed_lr`` (or ``initial_lr``) on groups flagged
    ``fix_lr``."""
    for group in optimizer.param_groups:
        if group.get('fix_lr', False):
            group['lr'] = group.get('fixed_lr',
                                    group.get('initial_lr', group['lr']))
