//! Command-line types only: commands, flags and their help text.

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use crate::accounts::AccountName;

#[derive(Debug, Parser)]
#[command(
    name = "codex",
    version,
    about = "Sign in to Codex and manage the credentials it uses",
    long_about = "Sign in to Codex and manage the credentials it uses.\n\n\
        Credentials are kept in $CODEX_HOME (default ~/.codex) and are shared with the \
        reference Codex CLI: you can switch between the two tools and stay signed in.",
    after_help = "Examples:\n  \
        printenv OPENAI_API_KEY | codex login --api-key -   sign in with an API key (CI)\n  \
        codex login status                                  who am I signed in as?\n  \
        codex login --account work                          sign in and save it as account `work`\n  \
        codex login switch personal                         use another saved account\n  \
        codex logout                                        forget the stored credentials"
)]
pub struct Cli {
    /// Override a config.toml setting for this run. VALUE uses TOML syntax; text that is not
    /// valid TOML is taken as a string. Repeatable.
    /// Example: -c cli_auth_credentials_store="file"
    #[arg(
        short = 'c',
        long = "config",
        value_name = "KEY=VALUE",
        global = true,
        action = clap::ArgAction::Append
    )]
    pub config_overrides: Vec<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in (ChatGPT in the browser by default, or an API key), or show how you are
    /// signed in (`codex login status`)
    Login(LoginArgs),
    /// Send one prompt to the model and stream the answer to stdout (for scripts and CI)
    #[command(after_help = EXEC_HELP)]
    Exec(ExecArgs),
    /// Sign out of the active account: afterwards no account is active
    ///
    /// The active account's refresh token is revoked and its credentials are removed; afterwards
    /// no account is active. Other saved accounts stay saved (`codex login status` lists them):
    /// `codex login switch NAME` makes one active again. --account NAME signs out of one saved
    /// account, --all out of every one.
    Logout(LogoutArgs),
    /// Sign in to the MCP servers of config.toml ([mcp_servers.NAME]) and manage their tokens
    #[command(after_help = MCP_HELP)]
    Mcp(McpArgs),
    /// Check config, credentials, keyring, network, key, clock, MCP servers; say what to fix
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Example: codex completion bash > ~/.local/share/bash-completion/completions/codex"
    )]
    Completion {
        /// The shell to generate completions for
        shell: Shell,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoginArgs {
    #[command(subcommand)]
    pub action: Option<LoginCommand>,

    /// Sign in with an OpenAI API key. Use `-` to read the key from standard input, which keeps
    /// it out of your shell history and of `ps` (printenv OPENAI_API_KEY | codex login --api-key -)
    #[arg(long, value_name = "KEY|-", conflicts_with_all = ["with_api_key", "no_browser", "port", "issuer", "client_id", "json", "device_auth"])]
    pub api_key: Option<String>,

    /// Read an OpenAI API key from standard input (same as `--api-key -`). A key written after
    /// it is taken too (with the same warning as `--api-key KEY`), rather than echoed in an error
    #[arg(long, num_args = 0..=1, value_name = "KEY", conflicts_with_all = ["no_browser", "port", "issuer", "client_id", "json", "device_auth"])]
    pub with_api_key: Option<Option<String>>,

    /// Read a ChatGPT personal access token (at-...) from standard input and store it
    /// (printenv CODEX_ACCESS_TOKEN | codex login --with-access-token). Its account is looked up
    /// once before it is saved. For one run without storing it, set CODEX_ACCESS_TOKEN instead
    #[arg(long, conflicts_with_all = ["no_browser", "port", "issuer", "client_id", "json", "device_auth"])]
    pub with_access_token: bool,

    /// Do not start a browser; only print the sign-in URL (the default over SSH or without a
    /// display)
    #[arg(long)]
    pub no_browser: bool,

    /// Port of the local callback server [default: 1455, then 1457; 0 = any free port]
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Give up waiting for the browser after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// OpenID Connect issuer to sign in with (overrides [auth] issuer and CODEX_AUTH_ISSUER)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// OAuth client id at that issuer (overrides [auth] client_id and CODEX_AUTH_CLIENT_ID)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Report progress as JSON lines on stdout (for editors and wrappers)
    #[arg(long)]
    pub json: bool,

    /// Sign in with a one-time code entered on another device (for SSH and headless machines)
    #[arg(long, conflicts_with_all = ["no_browser", "port"])]
    pub device_auth: bool,

    /// With --device-auth: do not print a QR code of the sign-in link
    #[arg(long, requires = "device_auth")]
    pub no_qr: bool,

    /// Save this sign-in as account NAME and make it the active one. Without it the sign-in is
    /// saved under a name derived from it (the email, or `apikey-` and the key's last 5
    /// characters), printed when it succeeds. Accounts signed in before stay saved: see
    /// `codex login switch`
    #[arg(long, value_name = "NAME", value_parser = AccountName::parse_arg)]
    pub account: Option<AccountName>,
}

#[derive(Debug, Subcommand)]
pub enum LoginCommand {
    /// Show how you are signed in (exit 0 when signed in, 1 when not)
    Status(StatusArgs),
    /// Print the current bearer credential on stdout (the API key, or a ChatGPT access token,
    /// refreshed first if it is about to expire), and nothing else
    #[command(
        after_help = "Examples:\n  curl -H \"Authorization: Bearer $(codex login token)\" ...\n  curl -H \"Authorization: Bearer $(codex login token --provider azure)\" ..."
    )]
    Token(TokenArgs),
    /// Make saved account NAME the active one: no network call, nothing is revoked, and the
    /// account switched away from stays saved (`codex login status` lists them)
    #[command(after_help = "Example: codex login switch work")]
    Switch(SwitchArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Use saved account NAME for this run, without switching to it (default: CODEX_ACCOUNT,
    /// else the active account)
    #[arg(long, value_name = "NAME", value_parser = AccountName::parse_arg)]
    pub account: Option<AccountName>,
    /// Print the token `codex exec` would send to provider ID instead
    /// ([model_providers.ID] in config.toml: its auth command's token, its env_key or
    /// experimental_bearer_token, or the sign-in for OpenAI)
    #[arg(long, value_name = "ID", conflicts_with = "account")]
    pub provider: Option<String>,
}

#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// The saved account to make active
    #[arg(value_name = "NAME", value_parser = AccountName::parse_arg)]
    pub name: AccountName,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Sign out of saved account NAME instead of the active one
    #[arg(long, value_name = "NAME", value_parser = AccountName::parse_arg)]
    pub account: Option<AccountName>,

    /// Sign out of the active account and remove every saved account too
    #[arg(long, conflicts_with = "account")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print one JSON object on stdout instead of text
    #[arg(long)]
    pub json: bool,
}

const DOCTOR_HELP: &str = "Each line is ✓ (fine), ⚠ (works, but look), ✗ (broken) or - (not \
checked), with what was found and the command or setting that fixes it. Nothing is changed \
unless --refresh is given. The run takes at most about 10 seconds, even when servers hang.\n\n\
Exit codes: 0 nothing is broken (warnings allowed); 1 something is.\n\n\
Examples:\n  \
codex doctor                 check everything\n  \
codex doctor --offline       only what can be checked without the network\n  \
codex doctor --json | jq     one JSON object (keys masked, no secret in it)";

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print one JSON object on stdout instead of text
    #[arg(long)]
    pub json: bool,

    /// Do not use the network (no DNS, no connection, no request)
    #[arg(long, conflicts_with = "refresh")]
    pub offline: bool,

    /// Test a ChatGPT refresh token with one refresh (the new tokens are saved, as any command
    /// would save them); without it nothing is changed
    #[arg(long)]
    pub refresh: bool,
}

const EXEC_HELP: &str = "Credentials: workload identity when OPENAI_FEDERATION_RULE_ID or \
OPENAI_IDENTITY_TOKEN_FILE is set (then nothing else), else CODEX_API_KEY (this command only), \
else CODEX_ACCESS_TOKEN (a ChatGPT personal access token), else the stored sign-in (codex login; \
--account or CODEX_ACCOUNT picks a saved account), else the provider's env_key variable. \
OPENAI_API_KEY is not read.\n\n\
Exit codes: 0 the answer is complete; 1 the request failed (the reason is on stderr); 2 bad \
command line.\n\n\
Examples:\n  \
CODEX_API_KEY=sk-... codex exec --json \"triage open bug reports\"\n  \
codex exec - < task.md                  read the prompt from a file\n  \
codex exec --oss \"explain this error\"   use a local Ollama / LM Studio server";

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Print every event of the stream as one JSON object per line (JSON Lines) instead of the
    /// answer text
    #[arg(long)]
    pub json: bool,

    /// The model to ask (overrides `model` in config.toml)
    #[arg(short = 'm', long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Use a local model server: `oss_provider` from config.toml ("ollama" or "lmstudio"),
    /// Ollama when unset
    #[arg(long)]
    pub oss: bool,

    /// Use saved account NAME for this run, without switching to it (default: CODEX_ACCOUNT,
    /// else the active account)
    #[arg(long, value_name = "NAME", value_parser = AccountName::parse_arg)]
    pub account: Option<AccountName>,

    /// What to ask. `-` (or nothing, when standard input is not a terminal) reads it from
    /// standard input
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,
}

const MCP_HELP: &str = "Tokens are kept where the reference Codex CLI keeps them \
(mcp_oauth_credentials_store: the OS keyring, service \"Codex MCP Credentials\", or \
$CODEX_HOME/.credentials.json), so both tools share them.\n\n\
Examples:\n  \
codex mcp list                     each server, its transport and how it signs in\n  \
codex mcp login docs               sign in to [mcp_servers.docs] in the browser\n  \
codex mcp token docs               a valid access token on stdout (refreshed first if due)\n  \
codex mcp logout docs              revoke and forget its tokens";

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(subcommand)]
    pub action: McpCommand,
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// List the configured MCP servers: transport, URL or command, and sign-in status
    List(McpListArgs),
    /// Sign in to an MCP server with OAuth (streamable HTTP servers only)
    Login(McpLoginArgs),
    /// Revoke (best effort) and remove the stored OAuth tokens of an MCP server
    Logout(McpNameArgs),
    /// Add a streamable HTTP server to config.toml ([mcp_servers.NAME] url = URL); the rest of
    /// the file, comments included, stays as it is
    #[command(after_help = "Example: codex mcp add docs --url https://mcp.example.com/mcp")]
    Add(McpAddArgs),
    /// Remove a server's [mcp_servers.NAME] tables from config.toml (its stored tokens stay:
    /// `codex mcp logout NAME` first)
    Remove(McpNameArgs),
    /// Print a valid access token of an MCP server on stdout, refreshed first when it expires
    /// within 30 seconds, and nothing else
    #[command(
        after_help = "Example: curl -H \"Authorization: Bearer $(codex mcp token docs)\" ..."
    )]
    Token(McpNameArgs),
}

#[derive(Debug, Args)]
pub struct McpAddArgs {
    /// The server's name: letters, digits, `-` and `_`
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The server's streamable HTTP endpoint
    #[arg(long, value_name = "URL")]
    pub url: String,
}

#[derive(Debug, Args)]
pub struct McpListArgs {
    /// Print one JSON array on stdout instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct McpNameArgs {
    /// The server's name in config.toml ([mcp_servers.NAME])
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct McpLoginArgs {
    /// The server's name in config.toml ([mcp_servers.NAME])
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Scopes to ask for, comma-separated (default: the server's `scopes` in config.toml, else
    /// those its metadata lists)
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,

    /// Do not start a browser; only print the sign-in URL
    #[arg(long)]
    pub no_browser: bool,

    /// Give up waiting for the browser (or the device code) after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Report progress as JSON lines on stdout (for editors and wrappers)
    #[arg(long)]
    pub json: bool,

    /// Sign in with a one-time code entered on another device (for SSH and headless machines),
    /// when the server's authorization server offers it
    #[arg(long, conflicts_with = "no_browser")]
    pub device_auth: bool,
}
