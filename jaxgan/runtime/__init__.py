"""The machine: storage (local paths and URIs), JSON files, device layout, mixed precision,
XLA:CPU options, the compilation cache, FLOPs, library logs and figures."""
