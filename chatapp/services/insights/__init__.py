"""Insights: the last 30 days, weekly reviews, and the batch that writes them."""
