"""Multi-task fine-tuning of BERT on SST, Quora and STS: data, model, training, evaluation and the studies of them."""
