"""Several mailbot processes on one PostgreSQL: roles, claims with leases, leaders, status."""
