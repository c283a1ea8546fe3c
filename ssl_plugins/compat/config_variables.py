"""``--cfg-options NAME=VALUE`` for a plain variable the config already used.

mmengine executes a Python config file once: ``max_epochs = 4`` followed by
``train_cfg = dict(max_epochs=max_epochs)`` stores ``4`` in ``train_cfg``.
``--cfg-options max_epochs=1`` then changes only the top-level ``max_epochs``
entry, which nothing reads, and training silently runs 4 epochs.

:func:`stale_variable_overrides` finds such overrides: it reads the config
file and its ``_base_`` files with :mod:`ast` and lists every field whose
value was computed from the variable (directly, through ``_base_.name`` /
``{{_base_.name}}``, or through another top-level variable computed from
it). ``tools/train.py`` stops with the message of :func:`explain` unless the
same ``--cfg-options`` also set every one of those fields.
"""
import ast
import copy
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

# arithmetic that may be re-evaluated with the new value for a suggestion
_SAFE_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant,
               ast.Name, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div,
               ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd)
_SCALARS = (int, float, str, bool, type(None))


class Use:
    """One field computed from a config variable.

    Args:
        path (str): Dotted key of the field (``param_scheduler.1.T_max``).
        source (str): The expression in the config file.
        where (str): ``file:line`` of the expression.
        expr (ast.expr): The parsed expression.
        names (tuple[str]): The variables it was computed from.
    """

    def __init__(self, path: str, source: str, where: str, expr: ast.expr,
                 names: Tuple[str, ...]) -> None:
        self.path = path
        self.source = source
        self.where = where
        self.expr = expr
        self.names = names


def _config_files(filename: str) -> Iterator[str]:
    """The config file and, recursively, its ``_base_`` Python files."""
    from mmengine.config import Config

    seen = set()
    stack = [osp.abspath(filename)]
    while stack:
        path = stack.pop()
        if path in seen or not path.endswith('.py') or not osp.isfile(path):
            continue
        seen.add(path)
        yield path
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == '_base_'):
                try:
                    bases = ast.literal_eval(node.value)
                except ValueError:
                    continue
                for base in bases if isinstance(bases, list) else [bases]:
                    try:
                        stack.append(Config._get_cfg_path(base, path)[0])
                    except Exception:  # an uninstalled package: skip it
                        continue


def _mentions(expr: ast.AST, names: Sequence[str]) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id in names:
            return True
        if (isinstance(node, ast.Attribute) and node.attr in names
                and isinstance(node.value, ast.Name)
                and node.value.id == '_base_'):
            return True
    return False


def _fields(expr: ast.expr, path: str) -> Iterator[Tuple[str, ast.expr]]:
    """(dotted path, leaf expression) of a dict(...) / {...} / [...] tree."""
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            and expr.func.id == 'dict' and not expr.args):
        for kw in expr.keywords:
            if kw.arg is None:
                yield path, kw.value
            else:
                yield from _fields(kw.value, f'{path}.{kw.arg}')
    elif isinstance(expr, ast.Dict):
        for key, value in zip(expr.keys, expr.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield from _fields(value, f'{path}.{key.value}')
            else:
                yield path, value
    elif isinstance(expr, (ast.List, ast.Tuple)):
        for i, value in enumerate(expr.elts):
            yield from _fields(value, f'{path}.{i}')
    else:
        yield path, expr


def find_uses(filename: str, name: str) -> List[Use]:
    """Fields of a config computed from the top-level variable ``name``.

    Args:
        filename (str): The config file (its ``_base_`` files are read too).
        name (str): The variable.

    Returns:
        list[Use]: One entry per field, including the top-level variables
        computed from ``name`` and the fields computed from those.
    """
    statements = []
    for path in _config_files(filename):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for node in ast.parse(text, path).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                statements.append((path, text, node.targets[0].id, node))
    uses: List[Use] = []
    names = [name]
    done = set()
    while len(done) < len(names):
        current = [n for n in names if n not in done]
        done.update(current)
        for path, text, target, node in statements:
            if target in names:
                continue  # a variable's own (re)definition
            for key, expr in _fields(node.value, target):
                if not _mentions(expr, current):
                    continue
                source = ast.get_source_segment(text, expr) or ''
                uses.append(Use(key, source.strip(),
                                f'{osp.relpath(path)}:{expr.lineno}', expr,
                                tuple(current)))
                if key == target:
                    names.append(target)  # a variable computed from it
    return uses


class _BaseToName(ast.NodeTransformer):
    """``{{_base_.x}}`` and ``_base_.x`` become ``x`` (for arithmetic)."""

    def visit_Set(self, node: ast.Set) -> ast.AST:
        if (len(node.elts) == 1 and isinstance(node.elts[0], ast.Set)
                and len(node.elts[0].elts) == 1):
            return self.visit(node.elts[0].elts[0])
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == '_base_':
            return ast.copy_location(ast.Name(id=node.attr, ctx=ast.Load()),
                                     node)
        return self.generic_visit(node)


def _evaluate(use: Use, values: Dict[str, Any]) -> Optional[Any]:
    """The expression re-evaluated with the new values, if it is plain
    arithmetic of those variables; else None."""
    expr = ast.Expression(body=_BaseToName().visit(copy.deepcopy(use.expr)))
    for node in ast.walk(expr):
        if not isinstance(node, _SAFE_NODES):
            return None
        if isinstance(node, ast.Name) and node.id not in values:
            return None
    try:
        code = compile(ast.fix_missing_locations(expr), '<config>', 'eval')
        return eval(code, {'__builtins__': {}}, dict(values))
    except Exception:
        return None


def _is_variable(use: Use, before: Dict[str, Any]) -> bool:
    return '.' not in use.path and isinstance(before.get(use.path), _SCALARS)


def stale_variable_overrides(
        filename: str, before: Dict[str, Any],
        options: Dict[str, Any]) -> Dict[str, List[Use]]:
    """Top-level scalar overrides whose variable other fields were built from.

    Args:
        filename (str): The config file.
        before (dict): Top-level values of the config before the merge.
        options (dict): The ``--cfg-options`` (dotted keys).

    Returns:
        dict: ``{name: [uses not set by options too]}`` for every top-level
        ``name`` in ``options`` whose value was a scalar and changes, and
        whose old value other fields were computed from.
    """
    stale = {}
    for name, value in options.items():
        if '.' in name or name not in before:
            continue
        old = before[name]
        if not isinstance(old, _SCALARS) or old == value:
            continue
        try:
            uses = find_uses(filename, name)
        except Exception:  # advisory: a config we cannot read is not checked
            continue
        # a top-level scalar computed from it is a variable too: its own
        # uses are in the list; it stays for explain()'s arithmetic
        fields = [u for u in uses if not _is_variable(u, before)]
        uncovered = [
            u for u in fields if not any(
                u.path == key or u.path.startswith(key + '.')
                for key in options if key != name)
        ]
        if uncovered:
            stale[name] = [u for u in uses if u in uncovered
                           or _is_variable(u, before)]
    return stale


def explain(stale: Dict[str, List[Use]], before: Dict[str, Any],
            options: Dict[str, Any]) -> str:
    """The message for :func:`stale_variable_overrides`' result.

    Args:
        stale (dict): Its result.
        before (dict): Top-level values of the config before the merge.
        options (dict): The ``--cfg-options``.

    Returns:
        str: What was ignored, and the ``--cfg-options`` to set instead.
    """
    lines = []
    suggestion = []
    for name, uses in stale.items():
        lines.append(
            f'--cfg-options {name}={options[name]!r}: the config computed '
            f'other fields from {name} (= {before[name]!r}) when it was read; '
            'they keep the old value, so this alone changes nothing. '
            'Fields computed from it:')
        values = {n: options.get(n, before.get(n)) for n in before}
        for use in uses:
            new = _evaluate(use, values)
            if isinstance(new, float):
                new = round(new, 10)  # 1 - 0.3 -> 0.7
            shown = '?' if new is None else repr(new)
            lines.append(f'  {use.path} = {use.source}   ({use.where})'
                         + ('' if new is None else f' -> {shown}'))
            if _is_variable(use, before):
                values[use.path] = new  # for the fields computed from it
            else:
                suggestion.append(f'{use.path}={shown}')
    unknown = any(item.endswith('=?') for item in suggestion)
    lines.append('Set those fields instead, e.g. --cfg-options '
                 + ' '.join(suggestion)
                 + (' (replace each ? by the value you want)' if unknown
                    else ''))
    return '\n'.join(lines)
