"""flake8 plugin: typing that Python 3.8 runs (setup.py: python_requires>=3.8).

Registered in setup.cfg (``[flake8:local-plugins]``), so ``make lint`` runs
it with flake8:

- SSL585 ``tuple[...]``, ``list[...]``, ``dict[...]``, ``set[...]``,
  ``frozenset[...]``, ``type[...]`` (PEP 585, Python 3.9), in code or in an
  annotation: use ``typing.Tuple``, ``List``, ``Dict``, ``Set``,
  ``FrozenSet``, ``Type``.
- SSL604 ``X | Y`` in an annotation (PEP 604, Python 3.10): use
  ``typing.Optional`` / ``typing.Union``.

Also under ``from __future__ import annotations``: one typing style for the
whole package, and annotations read at run time (``typing.get_type_hints``)
are evaluated anyway. Docstrings are not checked.
"""
import ast

BUILTIN_GENERICS = {
    'tuple': 'Tuple',
    'list': 'List',
    'dict': 'Dict',
    'set': 'Set',
    'frozenset': 'FrozenSet',
    'type': 'Type',
}


def annotation_nodes(tree):
    """``(node, lineno, col)`` for every node of every annotation of
    ``tree`` (arguments, returns, annotated assignments); a string
    annotation is parsed and its nodes reported at the string."""
    for node in ast.walk(tree):
        found = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            found = [a.annotation for a in (
                args.posonlyargs + args.args + args.kwonlyargs
                + [args.vararg, args.kwarg]) if a is not None]
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found = [node.annotation]
        for ann in found:
            if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
                try:
                    parsed = ast.parse(ann.value, mode='eval')
                except SyntaxError:
                    continue
                for sub in ast.walk(parsed):
                    yield sub, ann.lineno, ann.col_offset
            elif ann is not None:
                for sub in ast.walk(ann):
                    yield (sub, getattr(sub, 'lineno', ann.lineno),
                           getattr(sub, 'col_offset', ann.col_offset))


def builtin_generic(node):
    return (isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in BUILTIN_GENERICS and node.value.id)


class Py38AnnotationChecker:
    name = 'ssl-plugins-py38-typing'
    version = '1.0'

    def __init__(self, tree):
        self.tree = tree

    def run(self):
        seen = set()

        def report(lineno, col, code, text):
            if (lineno, col, code) not in seen:
                seen.add((lineno, col, code))
                return [(lineno, col, f'{code} {text}', type(self))]
            return []

        for node in ast.walk(self.tree):
            name = builtin_generic(node)
            if name:
                yield from report(
                    node.lineno, node.col_offset, 'SSL585',
                    f'{name}[...] needs Python 3.9: use '
                    f'typing.{BUILTIN_GENERICS[name]}[...]')
        for node, lineno, col in annotation_nodes(self.tree):
            name = builtin_generic(node)
            if name:
                yield from report(
                    lineno, col, 'SSL585',
                    f'{name}[...] needs Python 3.9: use '
                    f'typing.{BUILTIN_GENERICS[name]}[...]')
            elif isinstance(node, ast.BinOp) and isinstance(node.op,
                                                            ast.BitOr):
                yield from report(
                    lineno, col, 'SSL604',
                    'X | Y in an annotation needs Python 3.10: use '
                    'typing.Optional[...] or typing.Union[...]')
