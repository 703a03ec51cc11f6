"""The test suite (a package, so test modules import shared helpers as ``tests.<module>``).

Threads wait for work passively, not by spinning: on the 2-core machine, shared with other
jobs, torch's OpenMP threads spinning between operations made about a third of the CPU time
of the tests that run torch (measured on the access, chunking, structure, chain and llm tests:
158 s of CPU spinning, 108 s passive, and less wall time too). Set here, before anything
imports torch; child processes inherit it. (ONNX Runtime sessions are told the same in
``rag/embeddings/onnx.py``.)
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
