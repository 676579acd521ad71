"""Fine-tuning: the Trainer, its gradient methods, losses, regularizers, schedules, optimizers and runtime."""
