"""What others wrote, read safely: PyTorch checkpoints without PyTorch and without running
their code (`torch_files`), and weights fetched on first use and verified by their hash
(`fetched_weights`). The one place every importer of official checkpoints reads through."""
