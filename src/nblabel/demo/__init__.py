"""The demo: real images that ship inside scikit-image with exemplar proposals
(:mod:`~nblabel.demo.real`, :func:`load_demo_dataset`), and generated images of shapes
(:mod:`~nblabel.demo.synthetic`) with a nano YOLO trained on them here for the tests and the
online-learning notebook (:mod:`~nblabel.demo.prepare`); ``python -m nblabel.demo prepare``
builds the demo dataset."""

from nblabel.demo.prepare import (
    DEMO_DATASET,
    LEARNING_DATASET,
    demo_dir,
    load_demo_dataset,
    load_learning_dataset,
    prepare_model,
    prepare_task_model,
)

__all__ = ["DEMO_DATASET", "LEARNING_DATASET", "demo_dir", "load_demo_dataset",
           "load_learning_dataset", "prepare_model", "prepare_task_model"]
