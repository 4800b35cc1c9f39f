"""Editable: a DEFLATE (RFC 1951) encoder in pure Python.

The frozen evaluate.py decodes what compress() returns with the system's zlib, so the
format is fixed and only the encoder's choices (matches, blocks, codes) can improve.
"""
from .deflate import compress

__all__ = ["compress"]
