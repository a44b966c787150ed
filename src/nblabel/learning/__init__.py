"""Learning from the review: fine-tuning on reviewed labels round after round
(:mod:`~nblabel.learning.loop`), training itself (:mod:`~nblabel.learning.training`), and a
simulated reviewer with a cost model to measure it (:mod:`~nblabel.learning.simulate`)."""

from nblabel.learning.auto import AutoTrainer
from nblabel.learning.loop import (
    LearningLoop,
    ModelVersion,
    PseudoLabels,
    pseudo_threshold,
    select_pseudo_labels,
    spot_check_precision,
)
from nblabel.learning.training import cpu_has_native_bf16, train_ultralytics

__all__ = ["AutoTrainer", "LearningLoop", "ModelVersion", "PseudoLabels", "cpu_has_native_bf16",
           "pseudo_threshold", "select_pseudo_labels", "spot_check_precision",
           "train_ultralytics"]
