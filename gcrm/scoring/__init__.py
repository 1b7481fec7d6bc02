"""Scores of leads and customers (lead score, churn risk, expected value): features, models,
reasons in words, backtests against baselines, and the runs that record them."""

__all__: list[str] = []
