"""mmpretrain's browse_dataset.py with matplotlib >= 3.10 (``adjust_bbox``).

mmpretrain 1.2's ``tools/visualization/browse_dataset.py`` lays out every
mode but ``original`` with ``make_grid``, which calls
``matplotlib._tight_bbox.adjust_bbox(figure, bbox)``. Newer matplotlib made
``renderer`` a required third argument, so ``--mode pipeline`` /
``transformed`` / ``concat`` stop with ``adjust_bbox() missing 1 required
positional argument: 'renderer'``. The renderer is used only for axes that
have an axes locator, and ``make_grid``'s subplots have none.

The tool imports the function by name before it reads the config (which is
when ``custom_imports`` imports us), so the function object itself is fixed:
:func:`patch_adjust_bbox_renderer` gives ``renderer`` the default ``None``.
Calls that pass it (all of matplotlib's own) are unchanged; only calls that
failed before now run. Nothing is done when matplotlib has not been imported
(nothing can hold the function yet) or its ``adjust_bbox`` already accepts
two arguments.
"""
import inspect
import sys


def patch_adjust_bbox_renderer() -> None:
    """Let ``adjust_bbox(fig, bbox_inches)`` be called without a renderer."""
    module = sys.modules.get('matplotlib._tight_bbox')
    function = getattr(module, 'adjust_bbox', None)
    if function is None:
        return
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return
    names = [p.name for p in params]
    if len(names) < 3 or names[2] != 'renderer' or \
            params[2].default is not inspect.Parameter.empty:
        return
    # every parameter from ``renderer`` on gets a default
    later = params[3:]
    if any(p.default is inspect.Parameter.empty for p in later):
        return
    function.__defaults__ = (None, ) + tuple(p.default for p in later)
