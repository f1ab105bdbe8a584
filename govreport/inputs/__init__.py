"""Inputs: the model file, the tabular data and the review metadata, loaded and checked."""
