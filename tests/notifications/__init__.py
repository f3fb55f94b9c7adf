"""The notification feed, devices and the pushes queued for them."""
