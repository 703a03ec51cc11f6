"""Process plumbing: where models load from and on which device, threads, atomic files, logs."""
