"""benchmarks/speed.py runs end to end on a tiny setting and writes its table
(no timing is asserted: speed targets are for the benchmark, not tests)."""
import math

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
