"""The five reports' tables: the published numbers (published.py), one study per table (spec.py), running what is
missing at a named profile (run.py), and the side-by-side pages and the claims (render.py, claims.py)."""
