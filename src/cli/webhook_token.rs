//! `linnstream webhook-token NS/NAME`: the token an installation's Stream notifications
//! must carry when a process derives tokens from a webhook secret (`linnstream run
//! --webhook-secret-file`, the demo), and the path they are posted to. The secret is read
//! from a file or the environment, never the command line, and is never printed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::domain::InstallationKey;
use crate::domain::webhook::webhook_path;
use crate::server::webhooks::{check_secret, derive_token};

use crate::config::secret_args::required;

/// Namespace of Installations given without one (and of those loaded from files).
pub const DEFAULT_NAMESPACE: &str = "default";

#[derive(Args, Debug)]
pub struct WebhookTokenArgs {
    /// The installation: `NAMESPACE/NAME`, or `NAME` for one loaded from files (namespace
    /// `default`).
    pub installation: String,
    /// File holding the webhook secret the process was started with.
    #[arg(long, env = "LINNSTREAM_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Print only the token (for scripts), without the path and explanation.
    #[arg(long)]
    pub quiet: bool,
}

/// `NS/NAME` or `NAME` (namespace `default`), each part a Kubernetes name.
pub fn parse_installation(text: &str) -> anyhow::Result<InstallationKey> {
    let text = text.trim();
    let (ns, name) = match text.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => (DEFAULT_NAMESPACE, text),
    };
    let valid = |part: &str| {
        !part.is_empty()
            && part.len() <= 253
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    };
    if !valid(ns) || !valid(name) {
        anyhow::bail!(
            "installation {text:?}: use NAMESPACE/NAME (lower-case letters, digits, '-' and '.'), \
             or NAME for namespace {DEFAULT_NAMESPACE}"
        );
    }
    Ok(InstallationKey::new(ns, name))
}

pub fn run(args: WebhookTokenArgs) -> anyhow::Result<ExitCode> {
    let key = parse_installation(&args.installation)?;
    // The secret comes from LINNSTREAM_WEBHOOK_SECRET or a file: a flag would put it in the
    // process list.
    let secret = required(
        std::env::var("LINNSTREAM_WEBHOOK_SECRET")
            .ok()
            .filter(|s| !s.is_empty()),
        args.webhook_secret_file.as_deref(),
        "LINNSTREAM_WEBHOOK_SECRET",
        "--webhook-secret-file",
    )?;
    let setting = match &args.webhook_secret_file {
        Some(path) => format!(
            "the webhook secret in {} (--webhook-secret-file)",
            path.display()
        ),
        None => "LINNSTREAM_WEBHOOK_SECRET".to_string(),
    };
    check_secret(&secret, &setting).map_err(|e| anyhow::anyhow!(e))?;
    let token = derive_token(secret.as_bytes(), &key);
    if args.quiet {
        println!("{token}");
    } else {
        println!("installation: {key}");
        println!("webhook path: {}", webhook_path(&key));
        println!("token:        {token}");
        println!(
            "Stream sends the token back in the Authorization header of every notification; \
             keep it as secret as the webhook secret."
        );
    }
    Ok(ExitCode::SUCCESS)
}
