"""Mail: the transactional outbox and the sender that drains it through SMTP."""
