"""Property-based tests (Hypothesis); shared strategies live in ``strategies.py``."""
