"""Pre-annotation: a proposal source run over a dataset in batches (locally or on Ray), with
optional test-time-augmentation and MC-dropout probes (:mod:`~nblabel.preannotation.probes`)."""

from nblabel.preannotation.run import (
    ERROR_FIELD,
    PreannotationReport,
    preannotate,
    replace_proposals,
)

__all__ = ["ERROR_FIELD", "PreannotationReport", "preannotate", "replace_proposals"]
