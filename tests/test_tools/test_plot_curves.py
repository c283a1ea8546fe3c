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
