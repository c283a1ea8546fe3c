"""ChannelsLastHook under 2-process DDP: no stride warning, the NCHW values.

DDP lays out its gradient buckets with the parameters' strides when it is
built (``Runner.__init__`` -> ``wrap_model``). A model converted to
channels_last only after that produces NHWC gradients for NCHW bucket views:
torch then warns 'Grad strides do not match bucket view strides' on every
rank and copies every bucket on every step.
"""
import glob
import os
import os.path as osp

import torch

from helpers import PYTHON, REPO, free_port, run_tool
from test_resume_and_dist import CONFIG, tiny

STRIDE_WARNING = 'Grad strides do not match bucket view strides'
# channels_last changes the convolutions' kernels and summation order, so the
# two runs agree up to float32 rounding, amplified by the second step (at the
# full lr after a 1e-3 warm-up step): measured max |diff| 3.0e-7 over all
# parameters, while each online conv weight moved by >= 3.7e-4 (checked
# below against 10 x ATOL, so the tolerance cannot hide a wrong step).
ATOL, RTOL = 2e-6, 1e-5


def _dist_run(tmp_path, name, fake_fmnist, hooks):
    work = str(tmp_path / name)
    config = tmp_path / f'{name}_cfg.py'
    config.write_text(
        f"_base_ = ['{osp.join(REPO, CONFIG)}']\n"
        "custom_imports = dict(imports=['dump_rank_state_hook'], "
        "allow_failed_imports=False)\n"
        f"custom_hooks = [{', '.join(hooks)}]\n")
    proc = run_tool([
        'bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', work,
        '--cfg-options', *tiny(fake_fmnist, 'train_cfg.max_epochs=1')
    ], env=dict(PYTHONPATH=f'{REPO}:{osp.join(REPO, "tests")}',
                PORT=str(free_port()),
                PATH=f'{osp.dirname(PYTHON)}:{os.environ["PATH"]}'))
    states = [torch.load(p, weights_only=True)
              for p in sorted(glob.glob(osp.join(work, 'rank*_state.pth')))]
    assert len(states) == 2
    return proc, states


def test_channels_last_ddp_no_stride_warning_and_nchw_values(
        fake_fmnist, tmp_path):
    common = ["dict(type='TargetMomentumHook')",
              "dict(type='DumpRankStateHook')"]
    nhwc_proc, nhwc = _dist_run(tmp_path, 'nhwc', fake_fmnist,
                                ["dict(type='ChannelsLastHook')", *common])
    nchw_proc, nchw = _dist_run(tmp_path, 'nchw', fake_fmnist, common)

    for proc in (nhwc_proc, nchw_proc):
        assert STRIDE_WARNING not in proc.stderr + proc.stdout
    # the hook did convert the weights DDP trains (the saved parameters keep
    # their strides), and the NCHW run did not
    conv = 'backbone.conv1.weight'
    assert nhwc[0][conv].is_contiguous(memory_format=torch.channels_last)
    assert not nhwc[0][conv].is_contiguous()
    assert nchw[0][conv].is_contiguous()
    # DDP kept the two ranks identical
    for key, value in nhwc[0].items():
        assert torch.equal(value, nhwc[1][key]), key
    # same initial weights (the hook converts after init_weights: random
    # initialisers draw in memory order), and after training the same
    # weights up to the summation order
    for key, value in nchw[0].items():
        if key.startswith('init.'):
            assert torch.equal(value, nhwc[0][key]), key
        else:
            torch.testing.assert_close(nhwc[0][key], value, atol=ATOL,
                                       rtol=RTOL, msg=key)
    # ... while the steps moved each online conv weight far beyond that
    conv_weights = [k for k, v in nchw[0].items()
                    if v.dim() == 4 and not k.startswith(('init.', 'target.'))]
    assert len(conv_weights) >= 10
    for key in conv_weights:
        update = (nchw[0][key] - nchw[0]['init.' + key]).abs().max()
        assert update > 10 * ATOL, (key, update)
