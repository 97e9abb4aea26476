"""Encryption keys at rest: the start-up check of the configured KEKs, their rotation and status
(`hotgigs keys`). Infrastructure beside the domain modules: documents are moved through the
documents service; sealed columns (`hotgigs.models.sealed.SEALED_COLUMNS`) are re-sealed here,
value by value, like a data migration."""
