"""The analytics module: dashboards per role, hiring metrics over a time window, reports."""
