"""Attribute, event and metric names: the OpenTelemetry GenAI conventions plus our ``oyster.*`` keys.

The semantic-conventions package marks every ``gen_ai.*`` constant deprecated or incubating, so the
strings live here instead of being imported from it.
"""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions ------------------------------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
AGENT_NAME: Final = "gen_ai.agent.name"
WORKFLOW_NAME: Final = "gen_ai.workflow.name"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
SESSION_ID: Final = "session.id"  # how Langfuse and Phoenix group the turns of one conversation

REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
TOKEN_TYPE: Final = "gen_ai.token.type"

# Content: recorded only when content capture is on.
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"

EVALUATION_EVENT: Final = "gen_ai.evaluation.result"
EVALUATION_NAME: Final = "gen_ai.evaluation.name"
EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

OP_CHAT: Final = "chat"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"

# --- general conventions -------------------------------------------------------------------------
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

# --- metrics -------------------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
# Bucket boundaries the GenAI conventions advise for the two client histograms.
TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

# --- oyster-agents -------------------------------------------------------------------------------
WORKFLOW: Final = "oyster"
NODE: Final = "oyster.node"
RUN_ID: Final = "oyster.run.id"
QUERY: Final = "oyster.query"  # content
FALLBACKS: Final = "oyster.fallbacks"

GUARD_ROUTE: Final = "oyster.guard.route"  # "direct" or "constructive"
GUARD_ASSESSMENT_CACHED: Final = "oyster.guard.assessment_cached"

RISK_CATEGORY: Final = "oyster.risk.category"
RISK_LEVEL: Final = "oyster.risk.level"
RISK_SEVERITY: Final = "oyster.risk.severity"
RISK_INTERACTION_FORM: Final = "oyster.risk.interaction_form"
RISK_AGGRESSIVE: Final = "oyster.risk.aggressive"
RISK_POSTERIOR_PREFIX: Final = "oyster.risk.posterior."
RISK_USER_NEED: Final = "oyster.risk.user_need"  # content
RISK_INTENT: Final = "oyster.risk.intent"  # content

STRATEGY_CHOSEN: Final = "oyster.strategy.chosen"
STRATEGY_KIND: Final = "oyster.strategy.kind"
STRATEGY_TITLE: Final = "oyster.strategy.title"  # content
STRATEGY_EXPECTED_UTILITY: Final = "oyster.strategy.expected_utility"
STRATEGY_CANDIDATES: Final = "oyster.strategy.candidates"
STRATEGY_BOUNDARY_FEASIBLE: Final = "oyster.strategy.boundary_feasible"

STEP_SPAN: Final = "lingo_bp.step"
STEP_INDEX: Final = "oyster.lingo_bp.step"
STEP_COUNT: Final = "oyster.lingo_bp.steps"
STEP_DONE: Final = "oyster.lingo_bp.done"
ITERATE_SAFETY: Final = "oyster.iterate.safety_score"
ITERATE_SATISFACTION: Final = "oyster.iterate.satisfaction_score"
ITERATE_CONSTRUCTIVE: Final = "oyster.iterate.constructive_score"
RUBRIC_PREFIX: Final = "oyster.rubric."
