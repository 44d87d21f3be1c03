"""Layer 2: definitions. Pure descriptions: building one runs no user code and touches
no storage."""
