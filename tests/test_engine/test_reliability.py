"""No run is lost: atomic checkpoints, verified resume, divergence guard."""
import glob
import json
import os
import os.path as osp
import subprocess
import types

import pytest
import torch

from helpers import PYTHON, REPO, tiny_byol
from ssl_plugins.engine.checkpoint_io import (find_resume_checkpoint,
                                              verify_checkpoint,
                                              write_checksum)

CONFIG = ('configs/byol/'
          'byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py')


def tiny(data_root, *extra):
    """A few-second BYOL run on the fake data set (4 iterations / epoch)
    with a 2-iteration warm-up."""
    return tiny_byol(data_root, 'param_scheduler.0.end=0.5',
                     'param_scheduler.1.begin=0.5', *extra)


def faulty_config(tmp_path, hooks=''):
    """The BYOL config with the test-only faults of fault_injection.py."""
    config = tmp_path / 'faulty.py'
    config.write_text(
        f"_base_ = ['{osp.join(REPO, CONFIG)}']\n"
        "custom_imports = dict(imports=['fault_injection'], "
        "allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='TargetMomentumHook', end_momentum=1.0)"
        f"{hooks}]\n")
    return str(config)


def run_train(config, work, *options, env=None, extra=()):
    """tools/train.py without raising on failure: the CompletedProcess."""
    full_env = dict(os.environ, OMP_NUM_THREADS='1',
                    PYTHONPATH=f'{REPO}:{osp.join(REPO, "tests")}',
                    **(env or {}))
    return subprocess.run(
        [PYTHON, 'tools/train.py', config, '--work-dir', work, *extra,
         '--cfg-options', *options], cwd=REPO, env=full_env,
        capture_output=True, text=True, timeout=600)


def finite(path):
    state = torch.load(path, map_location='cpu', weights_only=False)
    return all(bool(torch.isfinite(v).all())
               for v in state['state_dict'].values() if v.is_floating_point())


def test_kill_during_save_loses_nothing(fake_fmnist, tmp_path):
    """kill -9 half-way through writing the 3rd checkpoint: the 2nd stays
    loadable and named by last_checkpoint; --resume continues from it."""
    work = str(tmp_path / 'run')
    config = faulty_config(tmp_path)
    options = tiny(fake_fmnist, 'train_cfg.max_epochs=3',
                   'default_hooks.checkpoint.max_keep_ckpts=1')
    proc = run_train(config, work, *options, env=dict(KILL_AT_SAVE='3'))
    assert proc.returncode == 137, proc.stderr[-2000:]
    # max_keep_ckpts=1 is raised to 2: the previous checkpoint survives
    assert sorted(osp.basename(p) for p in glob.glob(f'{work}/*.pth')) == [
        'epoch_1.pth', 'epoch_2.pth']
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert osp.basename(f.read().strip()) == 'epoch_2.pth'
    assert verify_checkpoint(osp.join(work, 'epoch_2.pth'))[0]
    assert glob.glob(f'{work}/.epoch_3.pth.tmp')  # the killed write
    proc = run_train(config, work, *options, extra=['--resume'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'resume: from' in proc.stdout and 'epoch_2.pth' in proc.stdout
    # the resumed run's own log folder (the newest) holds epoch 3 only
    newest = sorted(glob.glob(osp.join(work, '2*', 'vis_data')))[-1]
    with open(osp.join(newest, 'scalars.json')) as f:
        iters = [json.loads(line)['iter'] for line in f if 'loss' in line]
    assert iters == [9, 10, 11, 12]
    assert verify_checkpoint(osp.join(work, 'epoch_3.pth')) == (
        True, 'SHA-256 verified')
    # 2 kept after the resumed run too: epoch_1 deleted, its .sha256 too
    assert sorted(osp.basename(p) for p in glob.glob(f'{work}/epoch_*')) == [
        'epoch_2.pth', 'epoch_2.pth.sha256', 'epoch_3.pth',
        'epoch_3.pth.sha256']


def test_full_disk_during_save_names_the_file_and_frees_it(
        fake_fmnist, tmp_path):
    """ENOSPC half-way through the 3rd checkpoint: the error names the file
    and the checkpoint kept; the partial file does not stay to fill the
    disk; epoch 2 stays last_checkpoint and verifies."""
    work = str(tmp_path / 'run')
    proc = run_train(faulty_config(tmp_path), work,
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=3'),
                     env=dict(FULL_AT_SAVE='3'))
    assert proc.returncode != 0
    assert 'could not write' in proc.stderr and 'epoch_3.pth' in \
        proc.stderr and 'No space left' in proc.stderr, proc.stderr[-2000:]
    assert 'stays ' + osp.join(work, 'epoch_2.pth') in proc.stderr
    assert not glob.glob(f'{work}/.epoch_3.pth.tmp')
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert osp.basename(f.read().strip()) == 'epoch_2.pth'
    assert verify_checkpoint(osp.join(work, 'epoch_2.pth'))[0]


def test_full_disk_at_the_checksum_removes_the_unvouched_checkpoint(
        fake_fmnist, tmp_path):
    """ENOSPC while writing the 3rd checkpoint's checksum (after the file
    was committed): the error names it, the checkpoint without a checksum
    and the partial files go, epoch 2 stays last_checkpoint."""
    work = str(tmp_path / 'run')
    proc = run_train(faulty_config(tmp_path), work,
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=3'),
                     env=dict(FULL_AT_CHECKSUM='3'))
    assert proc.returncode != 0
    assert 'could not write' in proc.stderr and 'epoch_3.pth' in \
        proc.stderr, proc.stderr[-2000:]
    assert sorted(os.listdir(work)).count('epoch_2.pth') == 1
    assert not [f for f in os.listdir(work) if 'epoch_3' in f]
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert osp.basename(f.read().strip()) == 'epoch_2.pth'


def _write(path, value):
    torch.save({'state_dict': {'w': torch.full((64, ), float(value))}}, path)
    write_checksum(path)


def test_resume_skips_corrupt_and_refuses_to_overwrite(tmp_path):
    work = str(tmp_path)
    old, new = osp.join(work, 'epoch_1.pth'), osp.join(work, 'epoch_2.pth')
    _write(old, 1)
    _write(new, 2)
    os.utime(old, (1, 1))  # older
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(new)
    assert find_resume_checkpoint(work, log=lambda *a: None) == new
    # flip 4 KB inside the newest: detected, the older one is taken
    data = bytearray(open(new, 'rb').read())
    data[100:4196] = os.urandom(4096)
    open(new, 'wb').write(bytes(data))
    ok, reason = verify_checkpoint(new)
    assert not ok and 'SHA-256 mismatch' in reason
    logs = []
    assert find_resume_checkpoint(work, log=logs.append) == old
    assert any('skipped' in m and 'epoch_2.pth' in m for m in logs)
    # an empty last_checkpoint: still the newest valid file
    open(osp.join(work, 'last_checkpoint'), 'w').close()
    assert find_resume_checkpoint(work, log=lambda *a: None) == old
    # none valid: stop instead of starting again over them
    open(old, 'wb').close()
    with pytest.raises(RuntimeError, match='no usable checkpoint'):
        find_resume_checkpoint(work, log=lambda *a: None)
    # and tools/train.py --resume exits non-zero, touching nothing
    before = {p: os.path.getmtime(p) for p in glob.glob(f'{work}/*')}
    proc = run_train(osp.join(REPO, CONFIG), work, 'train_cfg.max_epochs=1',
                     extra=['--resume'])
    assert proc.returncode != 0
    assert 'no usable checkpoint' in proc.stdout + proc.stderr
    assert {p: os.path.getmtime(p) for p in glob.glob(f'{work}/*')} == before
    # an empty folder: a fresh start
    assert find_resume_checkpoint(str(tmp_path / 'empty'),
                                  log=lambda *a: None) is None


def test_resume_in_a_copied_work_dir_takes_its_own_checkpoints(tmp_path):
    """cp -r run copy: copy/last_checkpoint still names run/epoch_2.pth.
    --resume in the copy takes copy/epoch_2.pth, and with that one deleted
    copy/epoch_1.pth, never the original folder's file."""
    import shutil
    run, copy = str(tmp_path / 'run'), str(tmp_path / 'copy')
    os.makedirs(run)
    _write(osp.join(run, 'epoch_1.pth'), 1)
    _write(osp.join(run, 'epoch_2.pth'), 2)
    os.utime(osp.join(run, 'epoch_1.pth'), (1, 1))
    with open(osp.join(run, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(run, 'epoch_2.pth'))
    shutil.copytree(run, copy)
    assert find_resume_checkpoint(copy, log=lambda *a: None) == osp.join(
        copy, 'epoch_2.pth')
    os.remove(osp.join(copy, 'epoch_2.pth'))
    logs = []
    assert find_resume_checkpoint(copy, log=logs.append) == osp.join(
        copy, 'epoch_1.pth')
    assert any('outside' in m for m in logs)
    # no checkpoint in the work folder: the pointer is followed
    os.remove(osp.join(copy, 'epoch_1.pth'))
    assert find_resume_checkpoint(copy, log=lambda *a: None) == osp.join(
        run, 'epoch_2.pth')
    # CheckpointHook(out_dir=out) writes out/<work folder name>/: followed
    # even beside an older file in the work folder itself
    work, out = str(tmp_path / 'work'), str(tmp_path / 'out' / 'work')
    os.makedirs(work)
    os.makedirs(out)
    _write(osp.join(work, 'epoch_1.pth'), 1)
    _write(osp.join(out, 'iter_10.pth'), 10)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(out, 'iter_10.pth'))
    assert find_resume_checkpoint(work, log=lambda *a: None) == osp.join(
        out, 'iter_10.pth')


def test_divergence_stops_before_a_bad_checkpoint(fake_fmnist, tmp_path):
    """lr 1e30 from iteration 6: the run stops non-zero naming the iteration;
    every checkpoint on disk is finite and last_checkpoint is epoch_1."""
    work = str(tmp_path / 'run')
    config = faulty_config(
        tmp_path, ", dict(type='InjectFaultHook', at_iter=6, lr=1e30)")
    proc = run_train(config, work,
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=2'))
    assert proc.returncode != 0
    assert 'DivergenceGuardHook: iteration' in proc.stderr, proc.stderr[-2000:]
    ckpts = glob.glob(f'{work}/*.pth')
    assert [osp.basename(p) for p in ckpts] == ['epoch_1.pth']
    assert finite(ckpts[0])
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert osp.basename(f.read().strip()) == 'epoch_1.pth'


def test_checkpoint_hook_refuses_nonfinite_state(fake_fmnist, tmp_path):
    """Without the guard, a NaN BN statistic still never reaches a file."""
    work = str(tmp_path / 'run')
    config = faulty_config(
        tmp_path, ", dict(type='InjectFaultHook', at_iter=3, value='nan')")
    proc = run_train(config, work,
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=1',
                           'default_hooks.divergence_guard=None'))
    assert proc.returncode != 0
    assert 'CheckpointHook: not saving epoch_1.pth' in proc.stderr
    assert 'running_var' in proc.stderr
    assert not glob.glob(f'{work}/*.pth')


def _guarded(mode, max_skips=2):
    from ssl_plugins.engine.hooks import DivergenceGuardHook
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = types.SimpleNamespace(
        model=model, optim_wrapper=types.SimpleNamespace(optimizer=opt),
        iter=0)
    hook = DivergenceGuardHook(on_nonfinite=mode, max_skips=max_skips)
    hook.before_train(runner)
    return model, opt, hook, runner


def _step(model, opt, bad):
    opt.zero_grad()
    x = torch.ones(2, 3) * (float('nan') if bad else 1.0)
    model(x).sum().backward()
    opt.step()


def test_guard_stop_mode_keeps_weights():
    model, opt, hook, runner = _guarded('stop')
    _step(model, opt, bad=False)
    before = [p.detach().clone() for p in model.parameters()]
    hook.before_train_iter(runner, 1)
    with pytest.raises(FloatingPointError, match=r'iteration 1: non-finite '
                       r'gradient \(total norm nan\) in weight\. '):
        _step(model, opt, bad=True)
    for p, q in zip(model.parameters(), before):
        assert torch.equal(p, q)


def test_guard_skip_mode_skips_then_stops():
    model, opt, hook, runner = _guarded('skip', max_skips=2)
    _step(model, opt, bad=False)
    before = [p.detach().clone() for p in model.parameters()]
    momentum = [opt.state[p]['momentum_buffer'].clone()
                for p in model.parameters()]
    _step(model, opt, bad=True)
    _step(model, opt, bad=True)
    assert hook.skipped_total == 2
    for p, q, m in zip(model.parameters(), before, momentum):
        assert torch.equal(p, q)  # the bad steps changed nothing
        assert torch.equal(opt.state[p]['momentum_buffer'], m)
    _step(model, opt, bad=False)  # a good step resets the count
    assert hook.skipped_in_a_row == 0
    assert not torch.equal(next(model.parameters()), before[0])
    _step(model, opt, bad=True)
    _step(model, opt, bad=True)
    with pytest.raises(FloatingPointError, match='3 steps in a row'):
        _step(model, opt, bad=True)


@pytest.mark.parametrize('stop_at,waiting', [
    (3, 'last started iteration 4'),
    (2, 'at the checkpoint after iteration 2'),
])
def test_stopped_rank_makes_the_other_exit(fake_fmnist, tmp_path, stop_at,
                                           waiting):
    """Rank 1 SIGSTOPped after iteration 3 (mid-epoch) or 2 (the last of
    epoch 1, so rank 0 waits in that epoch's checkpoint, which gathers the
    ranks' RNG states): rank 0 exits after the 10 s collective timeout,
    saying where it waits (in iteration 4's first collective, or in the
    checkpoint after iteration 2) and naming rank 1 with the iteration it
    last started; the job ends well within the test's limit (without a timeout:
    30 min)."""
    import time

    from helpers import free_port
    work = str(tmp_path / 'run')
    config = faulty_config(
        tmp_path,
        f", dict(type='InjectFaultHook', at_iter={stop_at}, stop_rank=1)")
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='',
               PORT=str(free_port()),
               PATH=f'{osp.dirname(PYTHON)}:{os.environ["PATH"]}',
               PYTHONPATH=f'{REPO}:{osp.join(REPO, "tests")}')
    start = time.monotonic()
    proc = subprocess.Popen(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work,
         '--cfg-options', *tiny(fake_fmnist, 'train_cfg.max_epochs=2',
                                'env_cfg.dist_cfg.timeout=10')],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
    took = time.monotonic() - start
    assert proc.returncode != 0
    assert f'rank 0: a collective operation timed out ({waiting})' in err, \
        err[-3000:]
    assert f'stalled: rank 1 (last started iteration {stop_at})' in err
    assert took < 200


def test_mid_epoch_resume_equals_uninterrupted(fake_fmnist, tmp_path):
    """An iteration checkpoint 2 batches into epoch 2 resumes at its 3rd
    batch: the same losses and the same last iteration as the run without
    the interruption (num_workers=0)."""
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    options = tiny(fake_fmnist, 'train_cfg.max_epochs=2',
                   'default_hooks.checkpoint.by_epoch=False',
                   'default_hooks.checkpoint.interval=2',
                   'default_hooks.checkpoint.max_keep_ckpts=4')
    proc = run_train(osp.join(REPO, CONFIG), full, *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_train(osp.join(REPO, CONFIG), part, *options,
                     extra=['--resume', osp.join(full, 'iter_6.pth')])
    assert proc.returncode == 0, proc.stderr[-3000:]

    def losses(work):
        folder = sorted(glob.glob(osp.join(work, '2*', 'vis_data')))[-1]
        with open(osp.join(folder, 'scalars.json')) as f:
            return {r['iter']: r['loss'] for r in map(json.loads, f)
                    if 'loss' in r}

    uninterrupted, resumed = losses(full), losses(part)
    assert sorted(uninterrupted) == list(range(1, 9))
    assert sorted(resumed) == [7, 8]  # not 5..8 (the epoch replayed)
    for it in (7, 8):
        assert resumed[it] == pytest.approx(uninterrupted[it], rel=1e-5,
                                            abs=1e-6), it


def _losses(work):
    """Loss by iteration in the newest log folder of ``work``."""
    folder = sorted(glob.glob(osp.join(work, '2*', 'vis_data')))[-1]
    with open(osp.join(folder, 'scalars.json')) as f:
        return {r['iter']: r['loss'] for r in map(json.loads, f)
                if 'loss' in r}


def test_resume_at_epoch_end_with_a_partial_last_batch(fake_fmnist,
                                                       tmp_path):
    """56 images in batches of 16 (16, 16, 16, 8): the iteration checkpoint
    at the end of epoch 1 resumes into epoch 2 (it used to ask the sampler
    to skip 4 x 16 = 64 of 56 samples and stop with a ValueError)."""
    work = str(tmp_path / 'run')
    options = tiny(fake_fmnist, 'train_dataloader.dataset.indices=56',
                   'default_hooks.checkpoint.by_epoch=False',
                   'default_hooks.checkpoint.interval=4')
    proc = run_train(osp.join(REPO, CONFIG), work, *options,
                     'train_cfg.max_epochs=1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_train(osp.join(REPO, CONFIG), work, *options,
                     'train_cfg.max_epochs=2', extra=['--resume'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'iter_4.pth' in proc.stdout
    assert sorted(_losses(work)) == [5, 6, 7, 8]


def test_epoch_checkpoint_resumes_with_another_batch_size(fake_fmnist,
                                                          tmp_path):
    """An epoch checkpoint (4 batches of 16) resumed with batches of 32
    trains all of epoch 2 (2 batches); the skip used to be computed from the
    new loader's length (4 - 1 x 2 = 2 batches 'done'): an empty epoch 2."""
    work = str(tmp_path / 'run')
    proc = run_train(osp.join(REPO, CONFIG), work,
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_train(osp.join(REPO, CONFIG), work,
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=2',
                           'train_dataloader.batch_size=32'),
                     extra=['--resume'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(_losses(work)) == [5, 6]


def test_samples_to_skip_rounds_up_per_rank_and_caps():
    from ssl_plugins.engine.hooks.mid_epoch_resume_hook import samples_to_skip
    assert samples_to_skip(48, 1, 56) == 48
    assert samples_to_skip(48, 2, 28) == 24  # 1 rank -> 2 ranks
    assert samples_to_skip(50, 4, None) == 13
    assert samples_to_skip(64, 1, 56) == 56  # a partial last batch


def test_guard_names_nonfinite_buffers_and_accepts_large_finite_ones():
    from ssl_plugins.engine.hooks import DivergenceGuardHook
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    runner = types.SimpleNamespace(model=model, iter=6)
    hook = DivergenceGuardHook()
    model[1].running_var.fill_(3e38)  # huge but finite: no false alarm
    hook.after_train_iter(runner, 0, outputs={'loss': torch.tensor(1.0)})
    model[1].running_var[2] = float('nan')
    with pytest.raises(FloatingPointError,
                       match=r'iteration 7: non-finite .*: 1\.running_var$'):
        hook.after_train_iter(runner, 0, outputs={'loss': torch.tensor(1.0)})


def test_resume_refuses_another_models_checkpoint():
    """A resume whose checkpoint holds other keys or shapes (another method
    or config) stops before anything is loaded, naming the file and keys;
    the same model's checkpoint, a wrapped model's ``module.`` keys and a
    plain load_from (no resume) pass."""
    from ssl_plugins.engine.hooks import AtomicCheckpointHook
    model = torch.nn.Sequential(torch.nn.Linear(3, 4),
                                torch.nn.BatchNorm1d(4))
    hook = AtomicCheckpointHook(interval=1)

    def load(state, resume=True):
        runner = types.SimpleNamespace(model=model, _resume=resume,
                                       _load_from='/runs/a/epoch_3.pth')
        hook.after_load_checkpoint(runner, dict(state_dict=state))

    same = model.state_dict()
    load(same)
    load({'module.' + k: v for k, v in same.items()})
    other = dict(same, **{'2.weight': torch.ones(4)})
    del other['0.weight']
    with pytest.raises(ValueError, match=r'epoch_3\.pth.*Sequential.*1 of '
                       r'its 7 keys .*0\.weight.*2\.weight'):
        load(other)
    load(other, resume=False)  # load_from: partial weights are allowed
    wider = dict(same, **{'0.weight': torch.ones(5, 3)})
    with pytest.raises(ValueError, match=r'0\.weight: \(5, 3\) in the '
                       r'checkpoint, \(4, 3\) in the model'):
        load(wider)


def test_resume_of_another_method_stops_with_the_file_named(fake_fmnist,
                                                            tmp_path):
    """tools/train.py --resume with a BYOL checkpoint into a run whose
    neck is wider: a clear error naming the file, before training."""
    work = str(tmp_path / 'run')
    proc = run_train(osp.join(REPO, CONFIG), work,
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = osp.join(work, 'epoch_1.pth')
    proc = run_train(osp.join(REPO, CONFIG), str(tmp_path / 'other'),
                     *tiny(fake_fmnist, 'train_cfg.max_epochs=2',
                           'model.neck.hid_channels=32'),
                     extra=['--resume', ckpt])
    assert proc.returncode != 0
    assert f'Cannot resume from {ckpt}' in proc.stderr, proc.stderr[-3000:]
    assert 'neck' in proc.stderr and 'another shape' in proc.stderr
    assert not glob.glob(str(tmp_path / 'other' / '*.pth'))


def test_heartbeat_records_order_ranks_by_progress(monkeypatch):
    """The records of HeartbeatHook, read back by the timeout explanation:
    a rank at the checkpoint after iteration i is ahead of one that last
    started i and behind one that started i + 1; every other rank's
    position is named."""
    import torch.distributed as dist

    from ssl_plugins.engine.hooks import heartbeat_hook as hb
    store = dist.HashStore()
    rank = {'now': 0}
    monkeypatch.setattr(hb, '_store', lambda: store)
    monkeypatch.setattr(hb, 'get_rank', lambda: rank['now'])
    monkeypatch.setattr(hb, 'get_world_size', lambda: 4)
    hooks = [hb.HeartbeatHook() for _ in range(4)]  # one per rank
    timeout = RuntimeError('[gloo] Timed out waiting 10000ms')
    for r, iters, checkpoint in [(0, 2, True), (1, 2, False), (2, 2, True)]:
        rank['now'] = r
        for i in range(iters):
            hooks[r].before_train_iter(types.SimpleNamespace(iter=i), i)
        if checkpoint:
            hooks[r].before_save_checkpoint_all_ranks(None)
    assert store.get('ssl_plugins/heartbeat/0') == b'2 checkpoint'
    assert store.get('ssl_plugins/heartbeat/1') == b'2'
    rank['now'] = 0
    text = hb.explain_collective_timeout(timeout)
    assert text.startswith('rank 0: a collective operation timed out (at '
                           'the checkpoint after iteration 2)'), text
    assert ('stalled: rank 1 (last started iteration 2), rank 3 (no '
            'iteration started).') in text
    rank['now'] = 3
    hooks[3].before_train_iter(types.SimpleNamespace(iter=2), 0)
    assert hb.last_records(4) == {0: (2, True), 1: (2, False),
                                  2: (2, True), 3: (3, False)}
    assert ('stalled: rank 0 (at the checkpoint after iteration 2), rank 1 '
            '(last started iteration 2), rank 2 (at the checkpoint after '
            'iteration 2).') in hb.explain_collective_timeout(timeout)
    # a resumed run (6 iterations done) that saves before its first
    # iteration (save_best after validation) is at iteration 6, not 0
    rank['now'] = 1
    resumed = hb.HeartbeatHook()
    resumed.before_train(types.SimpleNamespace(iter=6))
    resumed.before_save_checkpoint_all_ranks(None)
    assert hb.last_records(4)[1] == (6, True)
    assert hb.explain_collective_timeout(ValueError('bad value')) is None
