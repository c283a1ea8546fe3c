# Runtime shared by all ssl_plugins configs.
# default_scope='ssl_plugins': our classes first, then mmpretrain's/mmengine's.
default_scope = 'ssl_plugins'
# imported by mmengine's Config.fromfile: tools that never import us
# (mmpretrain's tools/*.py) get our registries and upstream fixes
custom_imports = dict(imports=['ssl_plugins'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    # train/img_per_s (global images / iteration time) in the log
    throughput=dict(type='ThroughputHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # 'CheckpointHook' builds ssl_plugins' AtomicCheckpointHook in this scope:
    # atomic writes, a .sha256 beside each file, at least 2 kept, never a
    # non-finite checkpoint (docs/reliability.md)
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    # a NaN / inf loss, gradient, weight or BN statistic stops the run at
    # once, naming the iteration and the tensor (docs/reliability.md)
    divergence_guard=dict(type='DivergenceGuardHook'),
    # each rank's iteration in the process group's store: a collective
    # timeout names the ranks that stalled (docs/reliability.md)
    heartbeat=dict(type='HeartbeatHook'),
    # std of the L2-normalised projector output (SimSiam's statistic):
    # warns 5 iterations after it falls below 0.2 / sqrt(d)
    collapse_monitor=dict(type='CollapseMonitorHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # RNG states in checkpoints: exact resume (ssl_plugins.engine.hooks)
    rng_state=dict(type='RNGStateHook'),
    # an iteration checkpoint of an epoch-based run resumes at the next
    # batch, not at the start of its epoch (needs ResumableSampler)
    mid_epoch_resume=dict(type='MidEpochResumeHook'),
    # message hub and numpy values stored as tensors / numbers: a plain
    # torch.load(weights_only=True) reads our checkpoints (docs/compat.md)
    plain_checkpoint=dict(type='PlainCheckpointHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; ssl_plugins.compat switches to gloo when CUDA is absent.
    # timeout (seconds) of every collective: a rank that stops responding
    # makes the others exit after it (docs/reliability.md)
    dist_cfg=dict(backend='nccl', timeout=1800),
)

log_processor = dict(window_size=10)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
