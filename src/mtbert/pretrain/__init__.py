"""Further MLM + NSP pretraining of the encoder on in-domain text."""
