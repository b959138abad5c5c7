"""Project-wide pytest configuration: plain ``pytest --nbval`` means the whole book.

``pytest`` alone runs the unit tests and the doctests (``testpaths`` in ``pyproject.toml``).
With ``--nbval`` (or ``--nbval-lax``) it also runs every chapter notebook in ``chapters/``,
in the current environment's kernel and with the sanitize rules of
``tests/nbval_sanitize.cfg``, so that no longer command line is needed for CI.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def pytest_configure(config):
    if not (config.getoption("nbval", False) or config.getoption("nbval_lax", False)):
        return
    if not config.option.nbval_sanitize_with:
        config.option.nbval_sanitize_with = str(ROOT / "tests" / "nbval_sanitize.cfg")
    if not config.option.nbval_kernel_name:
        # The kernel is this interpreter: the notebooks import the convlib of this checkout.
        config.option.nbval_current_env = True
