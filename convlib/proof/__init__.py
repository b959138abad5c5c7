"""What proves convlib: the second room of the house.

Nothing in the core (``convlib`` outside this package) imports from here; this package
imports the core and the frameworks. ``tests/test_architecture.py`` enforces the rule by
reading every module's imports.

Modules: :mod:`.frameworks` (quiet TensorFlow and PyTorch imports), :mod:`.express` (one
configuration written as a PyTorch or TensorFlow call, with its source text),
:mod:`.crosscheck` (one configuration through TensorFlow, PyTorch and convlib),
:mod:`.verify` (the verification matrix), :mod:`.parity` (error parity),
:mod:`.isolation` (forked children for requests that may crash a framework),
:mod:`.bench` and :mod:`.workspace` (speed and memory).
"""
