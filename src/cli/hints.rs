//! The next command to type: how to resume following a task (keeping the flags that matter),
//! and what to do when the MCP server was started by hand in a terminal.

use super::args::FollowArgs;
use super::client_config::shell_quote;

/// The command that follows `task_id` to the end, keeping `--simulate` and `--download DIR`
/// when they were given (without them the resumed command would ask another CometAPI, or not
/// save the videos the person asked for).
pub(super) fn resume_command(task_id: &str, how: &FollowArgs, simulate: bool) -> String {
    let mut command = format!("kling-omni-mcp status {task_id} --wait");
    if simulate {
        command.push_str(" --simulate");
    }
    if let Some(dir) = &how.download {
        command.push_str(" --download ");
        command.push_str(&shell_quote(&dir.display().to_string()));
    }
    command
}

/// Whether to tell a person that the MCP server is waiting for a client: only when it serves
/// stdio and stdin is a terminal (an MCP client always connects a pipe).
pub fn note_terminal_stdin(serves_stdio: bool, stdin_is_terminal: bool) -> bool {
    serves_stdio && stdin_is_terminal
}

/// The one line printed on stderr when the stdio server starts in a terminal.
pub fn terminal_stdin_note() -> &'static str {
    "kling-omni-mcp is an MCP server: it is now waiting for an MCP client on stdin (Ctrl-C quits). To try it from a terminal instead: kling-omni-mcp generate --simulate --prompt \"A paper boat drifts down a rainy street\" --aspect-ratio 16:9 --wait (see --help)"
}

/// The spend of the last 24 hours and the daily limits, for a person (`list`, `doctor`);
/// `None` when the store cannot say.
pub(super) async fn spend_line(jobs: &crate::jobs::Jobs) -> Option<String> {
    let used = jobs.usage_24h().await.ok()?;
    let limits = jobs.spend_limits();
    let limit = |max: Option<u32>, unit: &str| {
        max.map_or_else(|| format!("no {unit} limit"), |n| format!("{n} {unit}"))
    };
    Some(format!(
        "bought in the last 24 hours: {} videos, {} s (daily limits: {}, {})",
        used.videos,
        used.seconds,
        limit(limits.videos, "videos"),
        limit(limits.seconds, "seconds")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(download: Option<&str>) -> FollowArgs {
        FollowArgs {
            wait: false,
            download: download.map(Into::into),
            json: false,
        }
    }

    #[test]
    fn resume_commands_keep_simulate_and_download() {
        assert_eq!(
            resume_command("881", &follow(None), false),
            "kling-omni-mcp status 881 --wait"
        );
        assert_eq!(
            resume_command("881", &follow(Some("./out")), true),
            "kling-omni-mcp status 881 --wait --simulate --download ./out"
        );
        assert_eq!(
            resume_command("881", &follow(Some("my videos")), false),
            "kling-omni-mcp status 881 --wait --download 'my videos'"
        );
    }

    #[test]
    fn only_a_stdio_server_on_a_terminal_gets_the_note() {
        assert!(note_terminal_stdin(true, true));
        assert!(!note_terminal_stdin(true, false), "an MCP client's pipe");
        assert!(!note_terminal_stdin(false, true), "--http or a subcommand");
        let note = terminal_stdin_note();
        assert!(!note.contains('\n'), "one line");
        assert!(note.contains("MCP client on stdin"));
        assert!(note.contains("kling-omni-mcp generate --simulate --prompt"));
    }
}
