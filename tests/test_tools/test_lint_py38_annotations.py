"""tools/lint_py38_annotations.py (flake8 plugin of `make lint`) flags the
typing that Python 3.8 cannot run, and only that."""
import ast
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def codes(source):
    spec = importlib.util.spec_from_file_location(
        'lint_py38_annotations',
        osp.join(ROOT, 'tools', 'lint_py38_annotations.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checker = module.Py38AnnotationChecker(ast.parse(source))
    return [(line, text.split()[0]) for line, _, text, _ in checker.run()]


def test_flags_pep585_and_pep604_annotations():
    source = '\n'.join([
        'def f(x: tuple[int, int], y: "list[str]") -> dict:',  # 1
        '    a: Optional[int | None] = None',  # 2
        '    return {}',  # 3
        'def g() -> "int | None":',  # 4
        '    return cast(type[int], None)',  # 5
    ])
    assert sorted(codes(source)) == [(1, 'SSL585'), (1, 'SSL585'),
                                     (2, 'SSL604'), (4, 'SSL604'),
                                     (5, 'SSL585')]


def test_accepts_the_typing_module_and_runtime_operators():
    source = '\n'.join([
        'from typing import Dict, List, Optional, Tuple, Union',
        'def f(x: Tuple[int, int], y: Optional[List[str]] = None,',
        '      z: Union[int, float] = 0) -> Dict[str, int]:',
        '    """Returns: dict[str, int] | None (docstrings are free)."""',
        '    flags = x[0] | x[1]',
        '    return {"a": flags}',
    ])
    assert codes(source) == []
