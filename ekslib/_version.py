"""The package version (one home: ``pyproject.toml`` carries the same number, a test keeps them equal)."""

__version__ = "0.1.0"
