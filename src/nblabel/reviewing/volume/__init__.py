"""Medical volumes: slices of a DICOM series or NIfTI volume reviewed as images are."""
