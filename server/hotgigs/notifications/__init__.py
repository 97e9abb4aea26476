"""The notifications module: in-app notifications, preferences, e-mail, a live feed."""
