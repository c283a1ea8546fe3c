"""Type and range checks of hook arguments, with errors naming the hook,
the argument and the value (a config's ``interval='2'`` would otherwise end
in a bare ``'<' not supported between 'str' and 'int'`` deep in a run)."""
from typing import Optional


def check_int(owner: str, name: str, value, minimum: int = 0,
              optional: bool = False) -> None:
    """Raise unless ``value`` is an int (not a bool) ``>= minimum``.

    Args:
        owner (str): The hook's name, for the message.
        name (str): The argument's name.
        value: The value given.
        minimum (int): The smallest value allowed. Defaults to 0.
        optional (bool): Whether ``None`` is allowed. Defaults to False.

    Raises:
        TypeError: ``value`` is not an int.
        ValueError: ``value < minimum``.
    """
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{owner}: {name}={value!r} ({type(value).__name__})'
                        f'; expected an int >= {minimum}')
    if value < minimum:
        raise ValueError(f'{owner}: {name}={value!r}; expected an int >= '
                         f'{minimum}')


def check_number(owner: str, name: str, value,
                 minimum: Optional[float] = None,
                 maximum: Optional[float] = None,
                 exclusive_minimum: bool = False,
                 optional: bool = False) -> None:
    """Raise unless ``value`` is a real number (int or float, not a bool)
    within ``[minimum, maximum]`` (``(minimum, maximum]`` with
    ``exclusive_minimum``).

    Raises:
        TypeError: ``value`` is not a number.
        ValueError: ``value`` is out of the range (NaN included).
    """
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{owner}: {name}={value!r} ({type(value).__name__})'
                        '; expected a number')
    low_ok = minimum is None or (value > minimum if exclusive_minimum else
                                 value >= minimum)
    high_ok = maximum is None or value <= maximum
    if not (low_ok and high_ok) or value != value:
        low = '' if minimum is None else (
            f'{">" if exclusive_minimum else ">="} {minimum}')
        high = '' if maximum is None else f'<= {maximum}'
        raise ValueError(f'{owner}: {name}={value!r}; expected a number '
                         f'{" and ".join(p for p in (low, high) if p)}')
