"""Interactive segmentation: a box or clicks become an instance mask.

One interface (:class:`~nblabel.segmentation.base.Segmenter`) over an offline method that needs no
weights (:class:`~nblabel.segmentation.grabcut.GrabCutSegmenter`, OpenCV's GrabCut seeded by
the box and clicks) and the SAM family through ultralytics
(:class:`~nblabel.segmentation.sam.SAMSegmenter`: SAM, SAM 2, MobileSAM when their weights are
present; the image encoder runs once per image and is cached, each click runs the prompt decoder)
and FastSAM (:class:`~nblabel.segmentation.fastsam.FastSAMSegmenter`: everything segmented once
per image, each click picks). Masks for the boxes
of a whole view: :func:`~nblabel.segmentation.bulk.masks_from_boxes`; measured with simulated
clicks (NoC) by :mod:`~nblabel.segmentation.evaluate`.
"""

from nblabel.segmentation.base import Prompt, SegmentationError, Segmenter, mask_label
from nblabel.segmentation.bulk import BulkMasksReport, masks_from_boxes
from nblabel.segmentation.fastsam import FastSAMSegmenter
from nblabel.segmentation.grabcut import GrabCutSegmenter
from nblabel.segmentation.sam import SAMSegmenter

__all__ = ["BulkMasksReport", "FastSAMSegmenter", "GrabCutSegmenter", "Prompt", "SAMSegmenter",
           "SegmentationError", "Segmenter", "mask_label", "masks_from_boxes"]
