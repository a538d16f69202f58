"""Evaluation data shipped with the package: the project's own constructive scenario set."""
