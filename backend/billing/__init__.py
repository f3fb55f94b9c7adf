"""Stripe customers, subscriptions and webhooks."""
