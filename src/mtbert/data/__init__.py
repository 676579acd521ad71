"""Inputs: fetched and verified, read, joined, re-split, prepared, augmented, batched."""
