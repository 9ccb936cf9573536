//! The Claude Desktop entry for a desk over stdio: the one `demo` prints and the README shows
//! (a unit test holds them equal), so that what a newcomer copies is what the server needs.

use serde_json::{Value, json};

/// The server's name in `mcpServers` (Claude Desktop's log is `mcp-server-<name>.log`).
pub const SERVER_NAME: &str = "support";

/// What is not a secret in the entry: where the binary and the model are, and the token claims.
pub struct DesktopEntry<'a> {
    /// Absolute path of `support-agent`.
    pub command: &'a str,
    /// Absolute `EMBED_MODEL_DIR` (Claude Desktop does not start the server in the repository).
    pub embed_model_dir: &'a str,
    pub jwt_issuer: &'a str,
    pub jwt_audience: &'a str,
}

/// The `claude_desktop_config.json` object. Secrets are placeholders naming where to copy them
/// from: nothing secret is ever printed.
pub fn desktop_config(e: &DesktopEntry<'_>) -> Value {
    json!({
        "mcpServers": {
            SERVER_NAME: {
                "command": e.command,
                "args": ["serve", "--stdio"],
                "env": {
                    "SUPPORT_AGENT_TOKEN": "<output of: support-agent token issue --user <USER_ID> --ttl 30d>",
                    "DATABASE_URL": "<DATABASE_URL from .env>",
                    "JWT_SECRET": "<JWT_SECRET from .env>",
                    "JWT_ISSUER": e.jwt_issuer,
                    "JWT_AUDIENCE": e.jwt_audience,
                    "AUDIT_KEY": "<AUDIT_KEY from .env>",
                    "SECRETS_KEY": "<SECRETS_KEY from .env>",
                    "EMBED_MODEL_DIR": e.embed_model_dir
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON block after `<!-- claude-desktop-config -->` in the README.
    fn readme_block() -> Value {
        let readme = include_str!("../../README.md");
        let (_, after) = readme
            .split_once("<!-- claude-desktop-config -->")
            .expect("the README marks its Claude Desktop block");
        let body = after
            .split_once("```json\n")
            .and_then(|(_, b)| b.split_once("\n```"))
            .map(|(b, _)| b)
            .expect("a json block after the marker");
        serde_json::from_str(body).expect("the README's block is JSON")
    }

    #[test]
    fn the_readme_shows_exactly_the_claude_desktop_entry_demo_prints() {
        let entry = DesktopEntry {
            command: "/absolute/path/to/support-agent",
            embed_model_dir: "/absolute/path/to/models/all-MiniLM-L6-v2",
            jwt_issuer: "support-agent",
            jwt_audience: "support-agent",
        };
        assert_eq!(readme_block(), desktop_config(&entry));
    }
}
