"""The audit log of security events: one helper writes it, admins read it (issue 18 item 5)."""
