"""benchmarks/quality.py, the command line: runs end to end on a tiny
setting (tiny fake data set; no accuracy is asserted), ``--iters`` and
``--merge`` of concurrent runs."""
import pytest

from benchmarks import quality
from quality_helpers import BATCH


def test_swav_and_dino_end_to_end(fake_fmnist, tmp_path):
    md = tmp_path / 'bench.md'
    md.write_text('# head\n\n<!-- quality:begin -->\nold\n'
                  '<!-- quality:end -->\ntail\n')
    results = quality.main([
        '--methods', 'swav', 'dino', '--budget-min', '0.005', '--batch-size',
        str(BATCH), '--num-workers', '0', '--data-root', fake_fmnist,
        '--knn-train', '64', '--knn-test', '32', '--markdown', str(md),
        '--work-dir', str(tmp_path / 'work'), '--epoch-rule', 'data'
    ])
    rows = {(r['name'], r['impl'].split(' (')[0]): r for r in results}
    assert set(rows) == {('raw pixels', '-'), ('swav', 'random init'),
                         ('swav', 'ours'), ('swav', 'mmpretrain'),
                         ('dino', 'random init'), ('dino', 'ours'),
                         ('dino', 'mmpretrain')}
    assert rows['dino', 'ours']['impl'] == 'ours (teacher)'
    assert rows['dino', 'mmpretrain']['knn'] is None
    for key, row in rows.items():
        if key != ('dino', 'mmpretrain'):
            # one top-1 per k (default --k 20 200), each a percentage
            assert [0 <= v <= 100
                    for v in row['knn'].values()] == [True, True], key
    text = md.read_text()
    assert 'old' not in text and text.rstrip().endswith('tail')
    assert '| dino | mmpretrain | n/a | n/a | n/a |' in text
    assert 'FreezeLastLayerHook freeze_epochs=1 -> freeze_iters=8' in text
    assert 'no DINO' in text
    assert rows['dino', 'ours']['knn_student'].keys() == {20, 200}
    assert "dino, ours (teacher): the student's backbone: " in text


def test_fixed_iterations_and_merge_of_concurrent_runs(fake_fmnist, tmp_path):
    """``--iters`` trains exactly N iterations; ``--merge`` puts the rows of
    separate runs (ours / mmpretrain as two processes) into one table in
    method order and refuses runs made with other settings."""
    common = ['--methods', 'simsiam', '--iters', '3', '--batch-size',
              str(BATCH), '--num-workers', '0', '--data-root', fake_fmnist,
              '--knn-train', '64', '--knn-test', '32', '--markdown',
              str(tmp_path / 'unused.md')]
    for impl in ('mmpretrain', 'ours'):
        results = quality.main(common + [
            '--impls', impl, '--json', str(tmp_path / f'{impl}.json'),
            '--work-dir', str(tmp_path / impl)])
        assert results[-1]['iters'] == 3
    md = tmp_path / 'bench.md'
    rows = quality.main(['--merge', str(tmp_path / 'mmpretrain.json'),
                         str(tmp_path / 'ours.json'), '--markdown', str(md)])
    assert [(r['name'], r['impl'].split(' (')[0]) for r in rows] == [
        ('raw pixels', '-'), ('simsiam', 'random init'),
        ('simsiam', 'random init'), ('simsiam', 'ours'),
        ('simsiam', 'mmpretrain')]
    assert 'BN as initialised' in rows[1]['impl']
    assert 'BN statistics of the train images' in rows[2]['impl']
    text = md.read_text()
    assert text.count('| simsiam | ours | 3 |') == 1
    assert 'benchmarks/quality.py --merge' in text
    quality.main(common + ['--impls', 'ours', '--iters', '2', '--json',
                           str(tmp_path / 'other.json'), '--work-dir',
                           str(tmp_path / 'other')])
    with pytest.raises(ValueError, match="other.json.*'iters': \\(3, 2\\)"):
        quality.main(['--merge', str(tmp_path / 'ours.json'),
                      str(tmp_path / 'other.json')])
