"""A grouping function named by a dotted path: the names this module had, importable from
here as they were. Their homes: :mod:`readme_metrics.dotted_path` (``import_dotted``),
:mod:`readme_metrics.grouping_signature` (``cannot_take_the_request``) and
:mod:`readme_metrics.grouping_import` (``ImportedOnFirstCall``, ``NotImported``,
``too_early_for_django``: a path Django was not ready for, imported on its first call).
"""

from __future__ import annotations

from readme_metrics.dotted_path import import_dotted
from readme_metrics.grouping_import import (
    FIRST_RETRY,
    LONGEST_RETRY,
    ImportedOnFirstCall,
    NotImported,
    too_early_for_django,
)
from readme_metrics.grouping_signature import cannot_take_the_request

__all__ = ["FIRST_RETRY", "LONGEST_RETRY", "ImportedOnFirstCall", "NotImported",
           "cannot_take_the_request", "import_dotted", "too_early_for_django"]
