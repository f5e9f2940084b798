"""Former home of the butler formatters, kept because datastores remember it.

A file datastore records, for every dataset it holds, the full name of the
formatter class that wrote it, and reads the dataset back with that class.
Models and triplet sets written before the formatters moved to
`lsst.meas.realbogus.butler.formatters` name this module; these aliases keep
them readable.  New datasets record the new names.
"""

from .butler.formatters import TorchScriptModelFormatter, TripletsFormatter

__all__ = ("TorchScriptModelFormatter", "TripletsFormatter")
