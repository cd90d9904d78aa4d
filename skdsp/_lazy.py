"""Lazy attribute loading for packages, so importing skdsp does not import torch."""

from importlib import import_module


def attach(package, names, submodules=()):
    """Return ``__getattr__``, ``__dir__`` and ``__all__`` for a lazily loaded package.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : dict of str to str
        Public name -> module (relative to ``package``, e.g. ``".dsp"``) defining it.
    submodules : iterable of str
        Sub-packages and modules to expose as attributes.
    """
    submodules = set(submodules)
    __all__ = sorted(names) + sorted(submodules)

    def __getattr__(name):
        if name in names:
            return getattr(import_module(names[name], package), name)
        if name in submodules:
            return import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return list(__all__)

    return __getattr__, __dir__, __all__
