"""The auth module: accounts, sessions, tokens, password and e-mail flows."""
