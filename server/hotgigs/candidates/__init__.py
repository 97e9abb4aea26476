"""The candidates module: candidate search for employers, profiles, statistics."""
