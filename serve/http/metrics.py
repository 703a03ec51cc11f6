"""The worker's counters, exposed in the Prometheus text format at ``/metrics``.

A handful of counters and gauges do not justify a metrics library: they are plain integers
updated on the event loop (one thread, so no locks) and rendered on request. Names follow
Prometheus conventions (``_total`` counters, ``_seconds`` sums with ``_count``), so any scraper
or a dashboard reading the text can use them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from serve.http.admission import Admission

# How a generation ended; every started generation ends in exactly one.
OUTCOMES = ("completed", "cancelled", "timeout", "out_of_memory", "error")
# Why a prompt's encoding was given up: its client left, or its time ran out.
ABANDONED = ("cancelled", "timeout")


@dataclass
class Metrics:
    """Counters for one worker process."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_seconds: float = 0.0
    first_tokens: int = 0
    generation_seconds: float = 0.0
    encoding: int = 0  # prompts being encoded now (they hold a slot)
    abandoned: Counter[str] = field(default_factory=Counter)  # encodings given up, by reason
    embedded_texts: int = 0
    embedded_tokens: int = 0
    embedding_seconds: float = 0.0
    embedding_requests: int = 0

    def request(self, route: str, status: int) -> None:
        """Count one answered request."""
        self.requests[(route, status)] += 1

    def generation_ended(
        self, outcome: str, prompt_tokens: int, completion_tokens: int, seconds: float
    ) -> None:
        """Count one finished generation (whatever ended it)."""
        self.outcomes[outcome] += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.generation_seconds += seconds

    def embedded(self, texts: int, tokens: int, seconds: float) -> None:
        """Count one answered ``/v1/embeddings`` request."""
        self.embedding_requests += 1
        self.embedded_texts += texts
        self.embedded_tokens += tokens
        self.embedding_seconds += seconds

    def first_token(self, seconds: float) -> None:
        """Record one time to first token (queue wait excluded)."""
        self.first_tokens += 1
        self.first_token_seconds += seconds

    def render(self, admission: Admission, *, ready: bool) -> str:
        """The Prometheus text exposition."""
        lines = [
            "# HELP bllossom_worker_model_ready 1 once the model is loaded.",
            "# TYPE bllossom_worker_model_ready gauge",
            f"bllossom_worker_model_ready {int(ready)}",
            "# HELP bllossom_worker_generations_running Generations running now.",
            "# TYPE bllossom_worker_generations_running gauge",
            f"bllossom_worker_generations_running {admission.running}",
            "# HELP bllossom_worker_requests_waiting Requests queued for a slot.",
            "# TYPE bllossom_worker_requests_waiting gauge",
            f"bllossom_worker_requests_waiting {admission.waiting}",
            "# HELP bllossom_worker_prompts_encoding Prompts being encoded (each holds a slot).",
            "# TYPE bllossom_worker_prompts_encoding gauge",
            f"bllossom_worker_prompts_encoding {self.encoding}",
            "# HELP bllossom_worker_prompts_abandoned_total Encodings stopped early, by reason.",
            "# TYPE bllossom_worker_prompts_abandoned_total counter",
            *(
                f'bllossom_worker_prompts_abandoned_total{{reason="{reason}"}} '
                f"{self.abandoned[reason]}"
                for reason in ABANDONED
            ),
            "# HELP bllossom_worker_requests_total Answered requests by route and status.",
            "# TYPE bllossom_worker_requests_total counter",
        ]
        lines += [
            f'bllossom_worker_requests_total{{route="{route}",status="{status}"}} {count}'
            for (route, status), count in sorted(self.requests.items())
        ]
        lines += [
            "# HELP bllossom_worker_generations_total Finished generations by outcome.",
            "# TYPE bllossom_worker_generations_total counter",
        ]
        lines += [
            f'bllossom_worker_generations_total{{outcome="{outcome}"}} {self.outcomes[outcome]}'
            for outcome in OUTCOMES
        ]
        lines += [
            "# TYPE bllossom_worker_prompt_tokens_total counter",
            f"bllossom_worker_prompt_tokens_total {self.prompt_tokens}",
            "# TYPE bllossom_worker_completion_tokens_total counter",
            f"bllossom_worker_completion_tokens_total {self.completion_tokens}",
            "# HELP bllossom_worker_time_to_first_token_seconds From slot to first token.",
            "# TYPE bllossom_worker_time_to_first_token_seconds summary",
            f"bllossom_worker_time_to_first_token_seconds_sum {self.first_token_seconds:.6f}",
            f"bllossom_worker_time_to_first_token_seconds_count {self.first_tokens}",
            "# TYPE bllossom_worker_generation_seconds summary",
            f"bllossom_worker_generation_seconds_sum {self.generation_seconds:.6f}",
            f"bllossom_worker_generation_seconds_count {sum(self.outcomes.values())}",
            "# TYPE bllossom_worker_embedded_texts_total counter",
            f"bllossom_worker_embedded_texts_total {self.embedded_texts}",
            "# TYPE bllossom_worker_embedded_tokens_total counter",
            f"bllossom_worker_embedded_tokens_total {self.embedded_tokens}",
            "# HELP bllossom_worker_embedding_seconds Time spent embedding, per request.",
            "# TYPE bllossom_worker_embedding_seconds summary",
            f"bllossom_worker_embedding_seconds_sum {self.embedding_seconds:.6f}",
            f"bllossom_worker_embedding_seconds_count {self.embedding_requests}",
        ]
        return "\n".join(lines) + "\n"
