"""Curation: review orders (:mod:`~nblabel.curation.queue`), what to label next
(:mod:`~nblabel.curation.selection`), uncertainty and difficulty
(:mod:`~nblabel.curation.uncertainty`), errors against the reviewed truth
(:mod:`~nblabel.curation.evaluation`), decision analytics (:mod:`~nblabel.curation.analytics`),
consensus of several reviewers (:mod:`~nblabel.curation.consensus`) and export
(:mod:`~nblabel.curation.export`). Modules load on first use."""
