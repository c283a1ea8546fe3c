"""benchmarks/speed.py runs end to end on a tiny setting and writes its table
(no timing is asserted: speed targets are for the benchmark, not tests)."""
import math

import pytest

from benchmarks import speed


def test_train_section_and_markdown(tmp_path):
    md = tmp_path / 'bench.md'
    md.write_text('# head\n\n<!-- speed:begin -->\nold\n<!-- speed:end -->\n'
                  'tail\n')
    argv = ['--sections', 'train', '--methods', 'barlow_twins',
            '--batch-size', '4', '--img-size', '16', '--iters', '1',
            '--warmup', '0', '--bf16', '--markdown', str(md)]
    res = speed.main(argv)
    rows = res['train']['barlow_twins']
    assert set(rows) == {'ours', 'mmpretrain', 'ours+bf16'}
    # identical weights and batch: identical first-step loss
    assert abs(rows['ours']['first_loss']
               - rows['mmpretrain']['first_loss']) < 1e-3
    assert [rows[k]['peak_mb'] > 0 for k in sorted(rows)] == [True] * 3
    text = md.read_text()
    assert 'old' not in text and text.startswith('# head')
    assert text.rstrip().endswith('tail') and '| barlow_twins | ours |' in text


def test_loader_fmnist_times_both_paths(fake_fmnist):
    """benchmarks/loader_fmnist.py runs on the configs quality.py trains and
    its ratio is (batched loader + preprocessor) / per-image loader."""
    from benchmarks import loader_fmnist
    rows = loader_fmnist.main(['--batch-size', '4', '--reps', '1',
                               '--data-root', fake_fmnist,
                               '--methods', 'byol', 'dino'])
    assert [r[0] for r in rows] == ['byol', 'dino']
    for _, per, crop, pre, ratio in rows:
        assert per > 0 and crop > 0 and pre > 0
        assert math.isfinite(ratio) and ratio > 0


def test_variants_are_canonical_and_checked():
    """``--variants`` names a set of options in any order; an unknown
    option is an error naming it; the old flags keep their variants."""
    import argparse
    assert (speed._variant('bf16+compile+channels_last')
            == 'compile+channels_last+bf16')
    with pytest.raises(argparse.ArgumentTypeError, match='fp16'):
        speed._variant('compile+fp16')
    args = speed.parse_args(['--channels-last', '--bf16', '--variants',
                             'bf16+channels_last',
                             'bf16+compile+channels_last'])
    assert speed.variant_names(args) == [
        'ours+channels_last', 'ours+bf16', 'ours+channels_last+bf16',
        'ours+compile+channels_last+bf16']
    assert speed.options_of('ours+compile+bf16') == {'compile', 'bf16'}
    assert speed.options_of('mmpretrain') == set()


def test_compiled_channels_last_bf16_row_and_mfu(tmp_path):
    """Issue 20's GPU row, here on the CPU: the compiled channels_last +
    bf16 variant runs the same math as the eager one with the same options,
    img/s is images over the median step, MFU the step's model FLOPs over
    the given peak; the JSON on disk holds the run."""
    import json
    out = tmp_path / 'speed.json'
    res = speed.main(['--sections', 'train', '--methods', 'simsiam',
                      '--batch-size', '4', '--img-size', '16', '--iters', '1',
                      '--warmup', '0', '--variants',
                      'compile+channels_last+bf16', 'channels_last+bf16',
                      '--compile-backend', 'eager', '--peak-tflops', '0.5',
                      '--json', str(out)])
    rows = res['train']['simsiam']
    both = rows['ours+compile+channels_last+bf16']
    assert both['first_loss'] == pytest.approx(
        rows['ours+channels_last+bf16']['first_loss'], rel=1e-6)
    # the options are applied: under bf16 the loss is not the fp32 one
    assert abs(both['first_loss'] - rows['ours']['first_loss']) > 1e-6
    for r in rows.values():
        assert r['img_per_s'] == pytest.approx(4 / r['median_s'])
        assert r['mfu'] == pytest.approx(
            r['step_gflop'] / 1e3 / r['median_s'] / 0.5)
    assert json.loads(out.read_text())['train']['simsiam'].keys() == \
        rows.keys()


def test_step_flops_count_forward_and_backward():
    """A step's model FLOPs are forward + backward, about 3x the forward
    (SimSiam: no target network; the first convolution computes no input
    gradient), and counting leaves the model as it was."""
    import argparse

    import torch
    from torch.utils.flop_counter import FlopCounterMode
    args = argparse.Namespace(
        arch='resnet18-w32-s2', preset='fmnist', seed=0, device='cpu',
        channels_last=False, bf16=False, compile=False, variants=[])
    models, _ = speed.build_pair('simsiam', args)
    model = models['ours'][0]
    data = speed.make_batch('simsiam', 4, 16, 'cpu', 0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flops = speed.step_flops('simsiam', model, data)
    after = model.state_dict()
    assert len(before) > 0
    assert all(torch.equal(before[k], after[k]) for k in before)
    inputs = model.data_preprocessor(data, True)['inputs']
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(inputs, None, mode='loss')
    forward = counter.get_total_flops()
    assert forward > 0 and 2.8 < flops / forward < 3.0, flops / forward


@pytest.mark.parametrize('method', ['byol', 'simsiam', 'barlow_twins',
                                    'swav', 'dino'])
def test_reference_step_does_the_same_model_flops(method):
    """One FLOP count serves every row of a method (MFU): the reference's
    step (mmpretrain's; lightly's for DINO) does exactly the model FLOPs of
    ours."""
    import argparse

    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.pairs import METHODS
    if method == 'dino':
        from helpers import import_benchmark_extra
        import_benchmark_extra('lightly')
    args = argparse.Namespace(
        arch='resnet18-w32-s2', preset='fmnist', seed=0, device='cpu',
        channels_last=False, bf16=False, compile=False, variants=[])
    models, _ = speed.build_pair(method, args)
    speed.set_step_counts(models, 2)
    data = speed.make_batch(method, 4, 16, 'cpu', 0)
    ours = speed.step_flops(method, models['ours'][0], data)
    theirs, wrapper = models[METHODS[method].reference]
    with FlopCounterMode(display=False) as counter:
        theirs.train_step(data, wrapper)
    assert ours > 0 and counter.get_total_flops() == ours


def test_json_keeps_the_methods_done_before_a_failure(tmp_path, monkeypatch):
    """``--json`` is rewritten after each method: a run that dies in its
    second method leaves the first on disk, whole."""
    import json
    out = tmp_path / 'speed.json'
    real = speed.bench_train

    def second_fails(method, args, failed=None):
        if method == 'simsiam':
            raise RuntimeError('killed')
        return real(method, args, failed)

    monkeypatch.setattr(speed, 'bench_train', second_fails)
    with pytest.raises(RuntimeError, match='killed'):
        speed.main(['--sections', 'train', '--methods', 'byol', 'simsiam',
                    '--batch-size', '4', '--img-size', '16', '--iters', '1',
                    '--warmup', '0', '--json', str(out)])
    saved = json.loads(out.read_text())
    assert list(saved['train']) == ['byol']
    assert set(saved['train']['byol']) == {'ours', 'mmpretrain'}
