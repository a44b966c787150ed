"""Curation: review orders (:mod:`~nblabel.curation.queue`), what to label next
(:mod:`~nblabel.curation.selection`, over a dataset :mod:`~nblabel.curation.active`),
embeddings (:mod:`~nblabel.curation.embeddings`) and FiftyOne Brain over them
(:mod:`~nblabel.curation.brain`: similarity, plot, uniqueness, near-duplicates), errors in human
labels (:mod:`~nblabel.curation.label_errors`), uncertainty and difficulty
(:mod:`~nblabel.curation.uncertainty`), errors against the reviewed truth
(:mod:`~nblabel.curation.evaluation`), decision analytics (:mod:`~nblabel.curation.analytics`),
consensus of several reviewers (:mod:`~nblabel.curation.consensus`) and export
(:mod:`~nblabel.curation.export`). Modules load on first use."""
