"""condlaunch test suite.

The ``__init__.py`` files in ``tests/``, ``tests/unit/`` and ``tests/property/`` make the
suite a package, so pytest puts the repository root on ``sys.path`` and tests import shared
helpers as ``from tests.property import strategies``; test modules in different folders may
also share a basename.
"""
