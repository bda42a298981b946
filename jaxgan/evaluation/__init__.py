"""Evaluation: feature extractors, metrics from features, and the evaluator."""
