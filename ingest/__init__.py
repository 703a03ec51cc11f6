"""The write path: discover files, load them, chunk, embed and commit to the store."""
