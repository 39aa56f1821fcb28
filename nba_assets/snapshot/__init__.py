"""The DVC pipeline behind `training_snapshot`: extract -> features -> split, byte for byte reproducible."""
