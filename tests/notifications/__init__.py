"""Tests of the notifications channel: the feed, devices, the pushes queued for them and their sending."""
