"""The users module: profiles, candidate profiles, work history, education, search."""
