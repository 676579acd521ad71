"""What the runs say: intervals over seeds, paired differences, floors and gates, verdicts with Holm and equivalence,
the claims of studies/claims.yaml and the seed plan fixed before any run."""
