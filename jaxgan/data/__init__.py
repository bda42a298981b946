"""Data: datasets from local files or tfds, step-addressed batches, streaming, two
unpaired domains."""
