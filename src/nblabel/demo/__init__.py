"""The demo: generated images of shapes (:mod:`~nblabel.demo.synthetic`) and a nano YOLO trained
on them here (:mod:`~nblabel.demo.prepare`); ``python -m nblabel.demo prepare`` builds both."""

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
