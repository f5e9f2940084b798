"""Running the pipelines at scale: BPS submissions."""
