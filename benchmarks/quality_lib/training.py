"""Pretraining for a wall-clock budget: calibration, then the
iteration-based run under ``TimeBudgetHook`` (its counter on the clock)."""
import os.path as osp
import time

from benchmarks.quality_lib.configs import build_cfg

#: Planned iterations = this x (budget / calibrated seconds per iteration):
#: the elapsed-time clock (``TimeBudgetHook``) only moves the counter
#: forward, so the plan must not be reached before the budget is spent,
#: also when the calibration's first iterations (workers starting, a
#: neighbour starting) were slow: they were up to 2x slower than the run.
OVERPLAN = 2.5


def pretrain(method, impl, args, root):
    """Calibrate N, then train for the budget; returns (model, info)."""
    from mmengine.runner import Runner

    from ssl_plugins.engine.hooks import TimeBudgetHook
    budget = args.budget_min * 60
    if args.iters:
        return _train(method, impl, args, root, args.iters, float('inf'),
                      dict(calib_s_per_iter=None))
    # calibration: 4 iterations, the last 3 timed
    cal = Runner.from_cfg(build_cfg(method, impl, 4,
                                    osp.join(root, f'{method}-{impl}-cal'),
                                    args))
    hook = TimeBudgetHook(1e9)
    cal.register_hook(hook)
    cal.train()
    per_iter = (hook.stamps[-1] - hook.stamps[0]) / (len(hook.stamps) - 1)
    max_iters = max(10, int(OVERPLAN * budget / per_iter))
    del cal
    return _train(method, impl, args, root, max_iters, budget,
                  dict(calib_s_per_iter=per_iter))


def _train(method, impl, args, root, max_iters, budget, extra):
    """Train ``max_iters`` planned iterations for ``budget`` seconds (inf:
    all of them, no clock); returns (model, info)."""
    from mmengine.runner import Runner

    from ssl_plugins.engine.hooks import TimeBudgetHook
    cfg = build_cfg(method, impl, max_iters,
                    osp.join(root, f'{method}-{impl}'), args)
    runner = Runner.from_cfg(cfg)
    clock = budget != float('inf')  # --iters runs: no budget, no clock
    hook = TimeBudgetHook(budget, clock=clock)
    runner.register_hook(hook)
    t0 = time.perf_counter()
    runner.train()
    info = dict(planned_iters=max_iters, iters=len(hook.stamps),
                clock=clock, schedule_end=runner.iter,
                seconds=time.perf_counter() - t0, **extra,
                converted=list(cfg.converted), epoch_iters=cfg.epoch_iters)
    return runner.model, info
