"""The ledger: what the session knows about every sample and every watched object."""
