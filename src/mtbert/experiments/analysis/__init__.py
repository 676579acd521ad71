"""What the runs say: intervals over seeds, paired differences, floors and gates, the claims of studies/claims.yaml
decided by their rules (Bonferroni within a claim, at the seed plan's looks) and a study's own questions (Holm and
equivalence)."""
