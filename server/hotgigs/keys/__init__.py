"""The server's keys (`hotgigs keys`). Encryption keys at rest: the start-up check of the
configured KEKs, their rotation and status. Infrastructure beside the domain modules: documents
are moved through the documents service; sealed columns (`hotgigs.models.sealed.SEALED_COLUMNS`)
are re-sealed here, value by value, like a data migration. JWT signing keys: `hotgigs keys
jwt-*` edit the key set file of `hotgigs.security.jwt_keys`."""
