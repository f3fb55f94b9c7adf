"""Participant-facing blueprints under /mobile/v1."""
