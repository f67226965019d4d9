"""A short session title from the `fast` model, made after the first exchange.

It runs beside the session, never in the turn's way: the exchange is already finished and shown
when the title is asked for, and any failure keeps the provisional title (the prompt's first
line), silently, because a title is not worth an error.
"""

from __future__ import annotations

from kode.llm.complete import complete
from kode.llm.errors import LLMError
from kode.llm.types import ChatRequest, Completed, ModelPort

PROMPT = (
    "Write a title of 3 to 7 words for this coding conversation. Answer with the title only: "
    "no quotes, no trailing punctuation."
)
MAX_LENGTH = 80


async def generate_title(
    model: ModelPort, *, model_name: str, user_text: str, answer: str, api_base: str | None, api_key: str | None
) -> tuple[str | None, Completed | None]:
    """The title (None when there is none to be had) and the call that made it, to be billed."""
    request = ChatRequest(
        model=model_name,
        messages=[
            {"role": "system", "content": PROMPT},
            {"role": "user", "content": f"User:\n{user_text[:2000]}\n\nAssistant:\n{answer[:2000]}"},
        ],
        api_base=api_base,
        api_key=api_key,
        max_output_tokens=30,
    )
    try:
        done = await complete(model, request)
    except LLMError:
        return None, None
    title = " ".join(done.text.strip().strip("\"'`").split())
    return title[:MAX_LENGTH].rstrip(" .") or None, done
