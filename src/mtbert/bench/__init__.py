"""Speed benchmark: our training step against the loop most users would write, on the same batches of the real data
(`mtbert bench`, writing reports/performance.md)."""
