"""What every room shares: configuration, the database handle, errors, people's clock, the tables, domain events."""
