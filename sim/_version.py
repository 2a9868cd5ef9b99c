"""The package version, in one place (sim/__init__.py and run.json read it)."""
__version__ = "0.1.0"
