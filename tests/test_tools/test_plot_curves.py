import importlib.util
import json
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'plot_curves', osp.join(ROOT, 'tools', 'analysis', 'plot_curves.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tiny_mmengine(work_dir):
    """A real 2-epoch mmengine run on CPU: train loss/lr + a val metric."""
    from mmengine.evaluator import BaseMetric
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):

        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, x, y, mode='tensor'):
            out = self.lin(x)
            if mode == 'loss':
                return dict(loss=((out - y)**2).mean())
            return [dict(pred=o, gt=t) for o, t in zip(out, y)]

    class Acc(BaseMetric):

        def process(self, data_batch, data_samples):
            self.results.extend(
                float((s['pred'] - s['gt']).abs() < 1) for s in data_samples)

        def compute_metrics(self, results):
            return {'accuracy/top1': 100 * sum(results) / len(results)}

    data = [dict(x=torch.randn(2), y=torch.randn(1)) for _ in range(16)]
    loader = dict(dataset=data,
                  batch_size=4,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='default_collate'))
    runner = Runner(model=Toy(),
                    work_dir=work_dir,
                    train_dataloader=loader,
                    val_dataloader=loader,
                    val_evaluator=[Acc()],
                    train_cfg=dict(by_epoch=True, max_epochs=2,
                                   val_interval=1),
                    val_cfg=dict(),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
                    param_scheduler=dict(type='CosineAnnealingLR',
                                         T_max=8,
                                         by_epoch=False),
                    default_hooks=dict(logger=dict(type='LoggerHook',
                                                   interval=1),
                                       checkpoint=dict(type='CheckpointHook',
                                                       interval=100)),
                    env_cfg=dict(cudnn_benchmark=False),
                    default_scope='mmengine')
    runner.train()


def test_plot_real_mmengine_log(tmp_path):
    tool = load_tool()
    run_tiny_mmengine(str(tmp_path))
    json_file = tool.find_scalars_file(str(tmp_path))
    records = tool.read_scalars(json_file)
    data = tool.series(records)
    # 2 epochs x 4 iters of training, validation after iters 4 and 8
    assert data['loss'][0] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert data['accuracy/top1'][0] == [4, 8]
    groups = tool.group_keys(list(data))
    assert groups['loss'] == ['loss'] and groups['learning rate'] == ['lr']
    assert groups['kNN / accuracy'] == ['accuracy/top1']
    out = tool.main([str(tmp_path)])
    assert out == osp.join(osp.dirname(osp.dirname(json_file)), 'curves.png')
    import matplotlib.image as mpimg
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[0] > 200 and img.std() > 0


def test_panels_and_selection(tmp_path):
    tool = load_tool()
    lines = [
        dict(lr=0.1,
             loss=3.0,
             momentum=0.99,
             teacher_temp=0.04,
             iter=1,
             epoch=1,
             step=1,
             time=0.2,
             memory=0),
        dict(lr=0.05,
             loss=2.0,
             momentum=0.995,
             teacher_temp=0.05,
             iter=2,
             epoch=1,
             step=2,
             time=0.2,
             memory=0),
        {
            'knn/top1': 41.0,
            'knn/top5': 80.0,
            'iter': 2,
            'step': 2
        },
        {
            'collapse/std': 0.08,
            'collapse/std_ratio': 0.9,
            'collapse/effective_rank': 7.4,
            'iter': 2,
            'step': 2
        },
    ]
    f = tmp_path / 'scalars.json'
    f.write_text('\n'.join(json.dumps(x) for x in lines) + '\n\n')
    data = tool.series(tool.read_scalars(str(f)))
    groups = tool.group_keys(list(data))
    assert list(groups) == [
        'kNN / accuracy', 'collapse: std x sqrt(d) (1 healthy, 0 collapsed)',
        'collapse: std of L2-normalised embeddings',
        'collapse: effective rank', 'loss', 'learning rate', 'momentum',
        'temperature'
    ]
    assert groups['kNN / accuracy'] == ['knn/top1', 'knn/top5']
    assert 'time' not in data and 'memory' not in data
    out = tool.main([
        str(f), '--keys', 'loss', 'knn/top1', '--out',
        str(tmp_path / 'sub' / 'x.png')
    ])
    assert osp.isfile(out)
    with pytest.raises(SystemExit, match='no scalar named'):
        tool.main([str(f), '--keys', 'nope'])


def test_missing_log_has_clear_error(tmp_path):
    tool = load_tool()
    with pytest.raises(SystemExit, match='no vis_data/scalars.json'):
        tool.main([str(tmp_path)])
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1}\nnot json\n')
    with pytest.raises(SystemExit, match='bad.json:2'):
        tool.main([str(bad)])


def write_run(work_dir, timestamp, lines):
    vis = work_dir / timestamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(x)
                                                for x in lines) + '\n')


def resumed_work_dir(tmp_path):
    """First run: iterations 1-6 (4 per epoch), killed; the second resumes
    from the checkpoint at iteration 4 (end of epoch 1) and trains 5-8."""

    def train(i, loss):
        return dict(loss=loss, lr=0.1, iter=i, step=i, epoch=(i - 1) // 4 + 1)

    first = [train(i, 10.0 - i) for i in range(1, 7)]
    first += [
        {'knn/top1': 40.0, 'iter': 4, 'step': 4},
        {'accuracy/top1': 50.0, 'step': 1},  # validation after epoch 1
        {'knn/top1': 60.0, 'iter': 6, 'step': 6},  # discarded by the resume
        {'collapse/std': 0.3, 'iter': 2, 'step': 2},
        {'collapse/std': 0.2, 'iter': 5, 'step': 5},  # discarded too
    ]
    # KNNHook(before_train=True) logs at the checkpoint's iteration
    second = [{'knn/top1': 41.0, 'iter': 4, 'step': 4}]
    second += [train(i, 100.0 + i) for i in range(5, 9)]
    second += [{'accuracy/top1': 70.0, 'step': 2},
               {'knn/top1': 80.0, 'iter': 8, 'step': 8}]
    # written newest first: the order comes from the timestamps, not mtimes
    write_run(tmp_path, '20250102_090000', second)
    write_run(tmp_path, '20250101_235959', first)
    # not a run folder of mmengine: ignored next to timestamped ones
    write_run(tmp_path, 'notes', [dict(loss=-1.0, iter=1, step=1)])
    return tmp_path


EXPECTED_JOINED = {
    'loss': ([1, 2, 3, 4, 5, 6, 7, 8],
             [9.0, 8.0, 7.0, 6.0, 105.0, 106.0, 107.0, 108.0]),
    'knn/top1': ([4, 8], [41.0, 80.0]),
    'accuracy/top1': ([4, 8], [50.0, 70.0]),
    'collapse/std': ([2], [0.3]),
}


def test_resumed_runs_are_joined(tmp_path):
    tool = load_tool()
    work_dir = resumed_work_dir(tmp_path)
    files = tool.find_scalars_files(str(work_dir))
    assert [f.split(osp.sep)[-3] for f in files
            ] == ['20250101_235959', '20250102_090000']
    assert tool.find_scalars_file(str(work_dir)) == files[-1]
    data = tool.read_runs(files)
    for key, (xs, ys) in EXPECTED_JOINED.items():
        assert data[key] == (xs, ys), key
    assert data['lr'][0] == list(range(1, 9))
    # a run dir or a json file alone: that run only
    alone = tool.read_runs(tool.find_scalars_files(str(work_dir /
                                                       '20250102_090000')))
    assert alone['loss'][0] == [5, 6, 7, 8]
    # a later run from scratch (first iteration 1) replaces everything
    again = {'loss': ([1, 2], [5.0, 4.0]), 'lr': ([1, 2], [0.2, 0.2])}
    fresh = tool.join_series([data, again])
    assert fresh == again


def test_plot_of_a_resumed_work_dir_draws_the_joined_curves(
        tmp_path, monkeypatch):
    """Through the command line: what reaches matplotlib is the joined
    series (the tool used to read the newest run only)."""
    from matplotlib.axes import Axes
    tool = load_tool()
    work_dir = resumed_work_dir(tmp_path)
    drawn = {}
    real_plot = Axes.plot

    def spy(ax, xs, ys, *args, label=None, **kwargs):
        drawn[label] = (list(xs), list(ys))
        return real_plot(ax, xs, ys, *args, label=label, **kwargs)

    monkeypatch.setattr(Axes, 'plot', spy)
    out = tool.main([str(work_dir)])
    assert out == str(work_dir / '20250102_090000' / 'curves.png')
    assert osp.isfile(out)
    for key, (xs, ys) in EXPECTED_JOINED.items():
        assert drawn[key] == (xs, ys), key
