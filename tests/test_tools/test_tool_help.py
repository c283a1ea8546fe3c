import importlib.util
import os.path as osp
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = {
    'tools/knn_eval.py': '--random-init',
    'tools/extract_backbone_weights.py': '--format',
    'tools/visualize_attention.py': '--threshold',
    'tools/analysis/plot_curves.py': '--keys',
    'tools/analysis/visualize_tsne.py': '--perplexity',
}


@pytest.mark.parametrize('path', sorted(TOOLS))
def test_python_tools_have_help(path, capsys):
    spec = importlib.util.spec_from_file_location(
        osp.basename(path)[:-3], osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as err:
        module.parse_args(['--help'])
    assert err.value.code == 0
    assert TOOLS[path] in capsys.readouterr().out


def test_linear_eval_wrapper_help():
    out = subprocess.run([
        'bash',
        osp.join(ROOT, 'tools/benchmarks/'
                 'linear_eval.sh'), '--help'
    ],
                         capture_output=True,
                         text=True,
                         timeout=60)
    assert out.returncode == 0 and 'SOURCE' in out.stdout
    out = subprocess.run(
        ['bash', osp.join(ROOT, 'tools/benchmarks/'
                          'linear_eval.sh')],
        capture_output=True,
        text=True,
        timeout=60)
    assert out.returncode == 1 and 'Usage' in out.stdout
