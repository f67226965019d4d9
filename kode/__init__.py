"""kode: a terminal coding assistant.

This module stays import-free so that `kode --version` is instant.
"""

__version__ = "0.1.0"
