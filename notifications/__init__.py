"""Push (FCM), in-app feed, templates, preferences and delivery."""
