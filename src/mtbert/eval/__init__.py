"""Evaluation: metrics, predictions, intervals, and what no fine-tuning gives."""
