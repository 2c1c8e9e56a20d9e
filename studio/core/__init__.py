"""The DAG model, operator specs, validation and project files. No Qt, no database, no network."""
