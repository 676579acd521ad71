"""The typed params of every stage, one module per part of params.yaml, none of them importing torch: types.py (field
types, `param`, `section`), data.py, augment.py, model.py, pretrain.py, train.py, evaluate.py, and params.py (the whole file: every
section checked at once, docs/params.md and the JSON schema)."""

from mtbert.config.types import (PARAMS_FILE, SECTION, Bool, ConfigError, Count, Dropout, Float, Int, NonNegativeFloat,
                                 NonNegativeInt, PositiveFloat, Rate, Seed, TaskName, load_params, param, read_params,
                                 registered, run_stage, section)

__all__ = ["PARAMS_FILE", "SECTION", "Bool", "ConfigError", "Count", "Dropout", "Float", "Int", "NonNegativeFloat",
           "NonNegativeInt", "PositiveFloat", "Rate", "Seed", "TaskName", "load_params", "param", "read_params",
           "registered", "run_stage", "section"]
