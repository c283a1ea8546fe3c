"""How hooks reach the model: unwrapped, through named public methods."""
from mmengine.model import is_model_wrapper


def unwrapped_model(runner, hook: str, *required: str):
    """``runner.model`` without its DDP/FSDP wrapper, checked for methods.

    Args:
        runner: the mmengine Runner.
        hook (str): name of the calling hook (for the error message).
        *required (str): attributes the model must have.

    Raises:
        AttributeError: naming the hook, the model class and the attribute.
    """
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    for attr in required:
        if not hasattr(model, attr):
            raise AttributeError(
                f'{hook} needs model.{attr}; {type(model).__name__} has none.')
    return model
