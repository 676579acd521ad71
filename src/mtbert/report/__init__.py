"""The pages and figures of one run: results, augmentation, dev errors, curves."""
