"""Choose the chat model from a spec string: `offline` or `provider:model`."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from threaddesk.agent.offline import OfflineChatModel
from threaddesk.config import Settings
from threaddesk.errors import ModelUnavailable

OFFLINE = "offline"


def build_model(spec: str | None = None, settings: Settings | None = None) -> BaseChatModel:
    """Build the chat model named by `spec` (default: `settings.model`).

    Anything but `offline` goes through LangChain's `init_chat_model`, so every
    provider it knows works (`openai:gpt-4o-mini`, `anthropic:claude-...`,
    `ollama:llama3.2`); `settings.base_url` points `openai:` at any
    OpenAI-compatible server.
    """
    settings = settings or Settings()
    spec = (spec or settings.model).strip()
    if spec == OFFLINE:
        return OfflineChatModel()
    if ":" not in spec:
        raise ModelUnavailable(
            f"unknown model {spec!r}: use 'offline' or 'provider:model', e.g. openai:gpt-4o-mini"
        )
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"timeout": settings.model_timeout_s}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    if settings.api_key is not None:
        kwargs["api_key"] = settings.api_key.get_secret_value()
    try:
        return init_chat_model(spec, **kwargs)
    except ImportError as exc:
        provider = spec.split(":", 1)[0]
        raise ModelUnavailable(
            f"model {spec!r} needs an extra package: pip install 'threaddesk[{provider}]' ({exc})"
        ) from exc
    except ValueError as exc:
        raise ModelUnavailable(f"cannot build model {spec!r}: {exc}") from exc


class ModelCache:
    """One chat model per spec, built on first use: what a run whose assistant names a model gets.

    `default` (the desk's own model) answers for `default_spec`; every other spec is
    built once with `build_model` and kept, so assistants on the same model share it.
    A spec that cannot be built raises `ModelUnavailable` (the run fails, nothing kept).
    """

    def __init__(self, default: BaseChatModel, default_spec: str | None, settings: Settings) -> None:
        self.settings = settings
        self._models: dict[str, BaseChatModel] = {}
        if default_spec is not None:
            self._models[default_spec.strip()] = default

    def __call__(self, spec: str) -> BaseChatModel:
        spec = spec.strip()
        model = self._models.get(spec)
        if model is None:
            model = self._models[spec] = build_model(spec, self.settings)
        return model
