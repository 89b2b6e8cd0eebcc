//! `balance`: the CometAPI balance of the account behind the key (or `COMETAPI_QUERY_KEY`).

use serde::Serialize;

use super::Exit;
use super::output::{exit_for, fail};
use crate::comet::Balance;
use crate::jobs::{self, Jobs};

/// Prints the balance, as a few lines or (`--json`) the same object `get_balance` returns.
pub(super) async fn run(json: bool, jobs: &Jobs) -> Exit {
    let balance = match jobs.balance(jobs.call_deadline()).await {
        Ok(balance) => balance,
        Err(err) => return fail_balance(&err),
    };
    if json {
        let shown = Shown {
            balance: &balance,
            simulated: jobs.simulated(),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        );
        return Exit::Ok;
    }
    print_balance(&balance, jobs.simulated());
    Exit::Ok
}

/// The `--json` object: what `get_balance` returns.
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    balance: &'a Balance,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    simulated: bool,
}

/// A few lines for people.
fn print_balance(balance: &Balance, simulated: bool) {
    let mut line = format!("CometAPI balance: ${:.2} left", balance.balance_usd);
    if let Some(used) = balance.used_usd {
        line.push_str(&format!(", ${used:.2} used"));
    }
    if simulated {
        line.push_str(" (simulated: no real account)");
    }
    println!("{line}");
    for key in &balance.keys {
        match key.remaining_usd {
            Some(left) => println!("  key {}: ${left:.2} left", key.name),
            None => println!("  key {}: no limit of its own", key.name),
        }
    }
    if balance.query_key {
        println!("  (asked with COMETAPI_QUERY_KEY)");
    }
}

/// An error with the balance query's own fix, when it has one.
fn fail_balance(err: &jobs::Error) -> Exit {
    match jobs::balance_fix(err) {
        Some(fix) => {
            eprintln!("error [{}]: {err} (fix: {fix})", err.kind());
            exit_for(err)
        }
        None => fail(err),
    }
}
