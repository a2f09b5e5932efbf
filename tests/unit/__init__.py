"""Unit tests: exact, hand-computed cases for one module each."""
