"""Security: passwords, tokens, sessions, the access policy, rate limits."""
