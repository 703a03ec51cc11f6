"""Generation behind LangChain's chat-model interface: Bllossom-Vision in-process or remote.

- :mod:`~rag.generation.llm.local`: :class:`ChatBllossom`, the checkpoint in this process.
- :mod:`~rag.generation.llm.remote`: ``ChatOpenAI`` against the GPU worker or vLLM.
- :mod:`~rag.generation.llm.scripted`: :class:`ScriptedChatModel`, answers by rule (tests).
- :mod:`~rag.generation.llm.encoding`: messages -> the exact model inputs (also what the
  worker runs).
- :mod:`~rag.generation.llm.stops`: end-of-turn and stop strings.
- :func:`chat_model`: the one place settings pick and build one of them; :func:`sampling`
  names one request's sampling choices for any.
"""

from rag.generation.llm.encoding import EncodedPrompt, encode_prompt, load_processor
from rag.generation.llm.factory import chat_model, sampling
from rag.generation.llm.local import ChatBllossom
from rag.generation.llm.remote import remote_chat_model, worker_base_url
from rag.generation.llm.scripted import ScriptedChatModel
from rag.generation.llm.stops import END_OF_TURN, END_OF_TURN_ID

__all__ = [
    "END_OF_TURN",
    "END_OF_TURN_ID",
    "ChatBllossom",
    "EncodedPrompt",
    "ScriptedChatModel",
    "chat_model",
    "encode_prompt",
    "load_processor",
    "remote_chat_model",
    "sampling",
    "worker_base_url",
]
