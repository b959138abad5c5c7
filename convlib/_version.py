"""convlib's version, the one source for ``convlib.__version__``, ``--version`` and the package metadata."""

__version__ = "0.2.0"
