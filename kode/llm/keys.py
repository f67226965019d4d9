"""Knowing, before a slow import and a network round trip, that no API key is configured.

litellm reads each provider's own environment variable. We check the common ones up front so a
missing key is one clear line and exit code 2, not a provider stack trace seconds later.
Providers we do not list (bedrock, vertex, azure, local servers…) are left to litellm.
"""

from __future__ import annotations

from collections.abc import Mapping

PROVIDER_KEY_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"),
    "cohere": ("COHERE_API_KEY",),
    "perplexity": ("PERPLEXITYAI_API_KEY",),
}

PLACEHOLDER_KEY = "sk-no-key-required"
"""Sent to a custom `api_base` when no key is set: local OpenAI-compatible servers ignore it,
but the SDKs refuse to send a request without one."""


def provider_of(model: str) -> str:
    if "/" in model:
        return model.split("/", 1)[0]
    if model.startswith(("claude",)):
        return "anthropic"
    if model.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    return ""


def resolve_api_key(
    model: str, api_key: str | None, api_base: str | None, environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """Return (key to pass to litellm or None to let it read the env, error message or None)."""
    if api_key:
        return api_key, None
    provider = provider_of(model)
    variables = PROVIDER_KEY_VARS.get(provider, ())
    if any(environ.get(var) for var in variables):
        return None, None
    if api_base:
        return PLACEHOLDER_KEY, None
    if not variables:
        return None, None
    return None, (
        f"No API key for {provider} (model {model}): set {variables[0]}, or KODE_API_KEY, "
        f"or api_key under [provider] in ~/.config/kode/config.toml."
    )
