"""OysterConfig: the one configuration object (role models, game weights, loop, telemetry).

Load it once at the edge (CLI or host app) and pass it down; nodes never read files or env vars.
Sources, lowest to highest priority: defaults < config file < ``OYSTER_*`` environment variables
(nested with ``__``, e.g. ``OYSTER_GAME__BETA=3``) < explicit overrides (CLI flags).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from oyster_agents._config_sections import GameConfig, LoopConfig, TelemetryConfig
from oyster_agents._records import error_lines, read_document
from oyster_agents._safe_load import ReadError, check_depth
from oyster_agents.errors import ConfigError
from oyster_agents.redact import mask_url_credentials

__all__ = [
    "PROFILES",
    "ROLE_MAX_TOKENS",
    "GameConfig",
    "LoopConfig",
    "OysterConfig",
    "Role",
    "RoleModelConfig",
    "TelemetryConfig",
]


class Role(str, Enum):
    """The agents of the graph. ``default`` in config covers any role left out."""

    RISK_ASSESSOR = "risk_assessor"
    STRATEGIST = "strategist"
    USER_SIMULATOR = "user_simulator"
    RESPONDER = "responder"
    SAFETY_CRITIC = "safety_critic"
    SATISFACTION_CRITIC = "satisfaction_critic"
    REVISER = "reviser"


BackendName = Literal["hf", "openai", "fake"]
StructuredMode = Literal["auto", "json_schema", "json_object", "none"]


class RoleModelConfig(BaseModel):
    """How one role reaches its model.

    Attributes:
        backend: ``hf`` (local transformers, offline), ``openai`` (any OpenAI-compatible server,
            vLLM first of all) or ``fake`` (tests only; the models come from ``build_graph(models=...)``).
        model: for ``hf`` a local folder or ``"default"`` (embedded SmolLM2-135M-Instruct);
            for ``openai`` the served model name (a LoRA adapter name works on vLLM).
        structured_output: ``auto`` uses grammar-constrained decoding where the backend has it
            (xgrammar on ``hf``; ``response_format`` json_schema on ``openai``), ``none`` parses text.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    backend: BackendName = "hf"
    model: str = Field(default="default", min_length=1)
    base_url: str | None = None
    api_key: SecretStr | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0, description="Transport retries with exponential backoff.")
    retry_backoff_s: float = Field(default=0.5, ge=0.0, description="First backoff wait; doubles per retry (max 20 s).")
    max_reasks: int = Field(default=2, ge=0, description="Re-asks after malformed output.")
    structured_output: StructuredMode = "auto"
    device: str = "cpu"
    dtype: str = "float32"
    threads: int | None = Field(default=None, ge=1, description="hf: torch CPU threads (None = torch's default).")
    prefix_cache_mb: float = Field(
        default=256.0, ge=0.0, description="hf: memory for cached system-prompt keys/values (0 = off)."
    )
    quantize: Literal["none", "int8"] = Field(
        default="none", description="hf: 'int8' = dynamically quantized int8 linear layers (CPU, float32)."
    )
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("base_url")
    def _hide_url_credentials(self, value: str | None) -> str | None:
        return mask_url_credentials(value)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_url_credentials(value) if name == "base_url" else value

    @model_validator(mode="after")
    def _check_backend(self) -> "RoleModelConfig":
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs base_url, e.g. http://localhost:8000/v1 for `vllm serve`")
        return self

    def identity(self) -> str:
        """A key that is equal for roles that can share one model instance."""
        import hashlib

        data = self.model_dump(mode="json")
        # Roles with different keys must not share a client; the key itself never enters the string.
        secret = self.api_key.get_secret_value() if self.api_key else None
        data["api_key"] = hashlib.sha256(secret.encode("utf-8")).hexdigest() if secret is not None else None
        data["base_url"] = hashlib.sha256(self.base_url.encode("utf-8")).hexdigest() if self.base_url else None
        if self.backend == "hf":  # per-call settings; one loaded model serves them all
            for key in ("temperature", "max_tokens", "max_retries", "retry_backoff_s", "max_reasks",
                        "structured_output", "timeout_s"):
                data.pop(key, None)
        return json.dumps(data, sort_keys=True)


# Each role's max_tokens unless its config sets one: sized from the p99 of valid outputs in traces of
# the embedded model, with headroom (docs/performance.md); the answer writer keeps the largest budget.
ROLE_MAX_TOKENS: dict[str, int] = {
    "risk_assessor": 256,
    "strategist": 288,
    "user_simulator": 224,
    "responder": 384,
    "safety_critic": 192,
    "satisfaction_critic": 128,
    "reviser": 320,
}

# Named settings presets (``--profile``), applied under the config file, env vars and flags.
PROFILES: dict[str, dict[str, Any]] = {
    # The embedded model on a 2-core CPU: the method's full shape (3 strategies; iterates: the model's
    # own answer, the game's answer, one revision, always; every role) at a smaller size
    # (docs/performance.md). Torch's default threads: on an idle 2-core machine two beat one.
    "cpu-quick": {
        "loop": {"candidates": 3, "max_steps": 3, "min_steps": 3},
    },
}


class OysterConfig(BaseSettings):
    """The one configuration object.

    Example:
        >>> cfg = OysterConfig.load("oyster.yaml", overrides={"loop": {"max_steps": 2}})
        >>> cfg.role(Role.SAFETY_CRITIC).model
    """

    model_config = SettingsConfigDict(
        env_prefix="OYSTER_", env_nested_delimiter="__", extra="forbid", allow_inf_nan=False
    )

    roles: dict[str, RoleModelConfig] = Field(default_factory=lambda: {"default": RoleModelConfig()})
    game: GameConfig = Field(default_factory=GameConfig)
    loop: LoopConfig = Field(default_factory=LoopConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    policy_path: Path | None = Field(default=None, description="Your own taxonomy/guideline YAML or JSON.")
    profile: str | None = Field(default=None, description=f"A settings preset: one of {sorted(PROFILES)}.")

    @model_validator(mode="after")
    def _check_roles(self) -> "OysterConfig":
        known = {r.value for r in Role} | {"default"}
        unknown = set(self.roles) - known
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; use one of {sorted(known)}")
        if self.profile is not None and self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; use one of {sorted(PROFILES)}")
        if "default" not in self.roles:
            missing = [r.value for r in Role if r.value not in self.roles]
            if missing:
                raise ValueError(f"roles {missing} have no model; add a 'default' entry or configure each")
        return self

    def role(self, role: Role | str) -> RoleModelConfig:
        """The model config of one role (its own entry, else ``default``)."""
        key = role.value if isinstance(role, Role) else role
        cfg = self.roles.get(key) or self.roles["default"]
        if "max_tokens" not in cfg.model_fields_set and key in ROLE_MAX_TOKENS:
            cfg = cfg.model_copy(update={"max_tokens": ROLE_MAX_TOKENS[key]})  # the role's own budget
        return cfg

    @classmethod
    def load(cls, path: str | Path | None = None, *, overrides: dict[str, Any] | None = None) -> "OysterConfig":
        """Build a config from an optional YAML/JSON file, ``OYSTER_*`` env vars and overrides.

        Raises:
            ConfigError: the file is unreadable or malformed, or a value is invalid.
        """
        source, file_data = _read_config(Path(path)) if path is not None else (None, {})
        try:
            check_depth(overrides or {})
        except ReadError as exc:
            raise ConfigError(f"configuration overrides are {exc.message}") from None
        # Init kwargs outrank env vars in pydantic-settings, so the environment is merged in between
        # by hand, unvalidated: a variable may complete a role that only the file defines.
        env_data = environment_values(cls)
        merged = deep_merge(deep_merge(file_data, env_data), overrides or {})
        profile = merged.get("profile")
        if isinstance(profile, str) and profile in PROFILES:  # a preset sits under every other source
            merged = deep_merge(PROFILES[profile], merged)
        try:
            return cls(**merged)
        except ValidationError as exc:
            where = f" in {path}" if path else ""
            problems = _format_validation(exc, path, source, env_data)
        # Outside the handler: pydantic's error holds the inputs (an API key among them), so it is
        # neither chained nor kept as the context of the error raised here.
        raise ConfigError(f"invalid configuration{where}:\n{problems}")


def environment_values(cls: type[BaseSettings] | None = None) -> dict[str, Any]:
    """The ``OYSTER_*`` variables as a nested dict of raw values, not yet validated.

    Raises:
        ConfigError: a variable holding JSON (``OYSTER_LOOP='{...}'``) is empty or malformed; the
            message names the variable, never its value.
    """
    from pydantic_settings import EnvSettingsSource
    from pydantic_settings.exceptions import SettingsError

    cls = cls or OysterConfig
    try:
        values = EnvSettingsSource(cls)()
    except SettingsError as exc:
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        name = f"OYSTER_{field.upper()}"
        problem = ConfigError(
            f"environment variable {name} must hold a JSON object, e.g. {name}='{{\"key\": 1}}', or set one "
            f"value per variable: {name}__KEY=1"
        )
    else:
        return values
    raise problem


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON config file into a dict, with errors naming file and line.

    Limits: :data:`~oyster_agents._safe_load.MAX_CONFIG_BYTES`, nesting depth, YAML aliases;
    duplicate keys are refused.
    """
    return _read_config(path)[1]


def _read_config(path: Path) -> tuple[str, dict[str, Any]]:
    text, data = read_document(path, what="config file", error=ConfigError)
    if data is None:
        return text, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping, got {type(data).__name__}")
    return text, data


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``extra`` into a copy of ``base``."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _format_validation(
    exc: ValidationError, path: str | Path | None = None, source: str | None = None, env: dict[str, Any] | None = None
) -> str:
    """One line per problem: ``file:line: field: message`` where the field is in the file, and the
    variable's name where it came from the environment."""
    lines = error_lines(exc, path, source)
    for number, err in enumerate(exc.errors()):
        variable = _env_variable(env or {}, err["loc"])
        lines[number] = f"  {lines[number]}" + (f" (from {variable})" if variable else "")
    return "\n".join(lines)


def _env_variable(env: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    """The ``OYSTER_*`` variable that set the value at ``loc`` (or the object holding it), if any."""
    node: Any = env
    parts: list[str] = []
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
        parts.append(str(part))
        if not isinstance(node, dict):
            break
    return "OYSTER_" + "__".join(parts).upper() if parts else None
