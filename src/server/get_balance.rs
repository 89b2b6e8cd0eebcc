//! `get_balance`: the CometAPI balance of the account behind the caller's key (or the
//! query-only key), so an agent can tell the user what is left before buying.

use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{ArgumentError, ToolArgs, ToolInput, parse_arguments};
use super::errors::ToolFailure;
use super::schema::{input_schema, output_schema};
use super::{KlingServer, is_false, structured_result};
use crate::comet::Balance;

/// Arguments of `get_balance`: none.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetBalanceArgs {}

impl ToolInput for GetBalanceArgs {
    fn from_arguments(arguments: rmcp::model::JsonObject) -> Result<Self, ArgumentError> {
        parse_arguments(arguments)
    }
}

/// The `structuredContent` of `get_balance`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GetBalanceOutput {
    /// The balance as CometAPI's balance service gives it.
    #[serde(flatten)]
    pub balance: Balance,
    /// Answered by the built-in simulator (`--simulate`): no real account.
    #[serde(skip_serializing_if = "is_false")]
    pub simulated: bool,
}

#[tool_router(router = get_balance_router, vis = "pub(super)")]
impl KlingServer {
    /// Show the CometAPI balance (US dollars left and used) of the account this server spends for you.
    #[tool(
        name = "get_balance",
        input_schema = input_schema::<GetBalanceArgs>(),
        output_schema = output_schema::<GetBalanceOutput>(),
        annotations(
            title = "CometAPI balance",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub(super) async fn get_balance(
        &self,
        args: ToolArgs<GetBalanceArgs>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let deadline = self.jobs.call_deadline();
        if let Err(err) = args.0 {
            return Ok(ToolFailure::from_arguments(err, "get_balance").into_result());
        }
        let balance = match self.jobs.balance(deadline).await {
            Ok(balance) => balance,
            Err(err) => return Ok(ToolFailure::from_balance(&err).into_result()),
        };
        let output = GetBalanceOutput {
            balance,
            simulated: self.simulated,
        };
        Ok(structured_result(&output, summary(&output), Vec::new()))
    }
}

/// The one-paragraph text rendering.
fn summary(output: &GetBalanceOutput) -> String {
    let balance = &output.balance;
    let mut text = format!("CometAPI balance: ${:.2} left", balance.balance_usd);
    if let Some(used) = balance.used_usd {
        text.push_str(&format!(", ${used:.2} used"));
    }
    text.push('.');
    for key in &balance.keys {
        match key.remaining_usd {
            Some(left) => text.push_str(&format!("\n- key {}: ${left:.2} left", key.name)),
            None => text.push_str(&format!("\n- key {}: no limit of its own", key.name)),
        }
    }
    if output.simulated {
        text.push_str("\nSimulated: no real account, nothing is charged.");
    }
    text
}
