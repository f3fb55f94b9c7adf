"""Tests of the notifications channel."""
