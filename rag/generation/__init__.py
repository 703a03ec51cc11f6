"""From passages to an answer: the prompt, its token budget, the chain and the chat models.

- :mod:`~rag.generation.chain`: the LCEL chain (retrieve, build the prompt, answer),
- :mod:`~rag.generation.prompt`, :mod:`~rag.generation.chat_format`: the model card's format,
- :mod:`~rag.generation.budget`, :mod:`~rag.generation.image_tokens`: what fits,
- :mod:`~rag.generation.no_answer`: the honest answer when nothing was found,
- :mod:`~rag.generation.llm`: the chat models (in-process, remote, scripted).
"""
