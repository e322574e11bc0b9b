"""Files to tensors: loading, table detection, tokenising, the prepared-data cache,
batching. Importing this package imports nothing heavy; its modules load on use."""
