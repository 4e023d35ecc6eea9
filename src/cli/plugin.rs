//! `kubectl linnstream`: the same binary, run as `kubectl-linnstream` (kubectl finds it on
//! the PATH and passes it the words after `kubectl linnstream`). It uses the user's
//! kubeconfig and namespace: `status [NAME]` reads the Installations' status from the API
//! (and, when the console is reachable, its failing orders, webhook backlog and next runs);
//! `orders|audit|jobs|webhooks` are the `linnstream` commands (`webhooks` is
//! `webhook-events`) pointed at the in-cluster
//! console through the API server's service proxy, so no Ingress or port-forward is needed.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{CommandFactory, Parser, Subcommand};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use serde_json::Value;

use super::admin_client::{AdminClient, AdminClientArgs, Output, parse_console};
use super::table::Table;
use crate::crd::Installation;
use crate::crd::installation::LastRun;
use crate::domain::Job;

/// The executable name kubectl looks for.
pub const PLUGIN_NAME: &str = "kubectl-linnstream";
/// Labels of the console Service the chart creates.
const CONSOLE_SELECTOR: &str =
    "app.kubernetes.io/part-of=linnstream,app.kubernetes.io/component=console";

/// Whether the process was started as the kubectl plugin (by its file name).
pub fn invoked_as_plugin(argv0: &OsString) -> bool {
    std::path::Path::new(argv0)
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == PLUGIN_NAME)
}

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-linnstream",
    bin_name = "kubectl linnstream",
    version,
    about = "linnstream for kubectl: Installation status, and the in-cluster console's orders, audit log, jobs and webhooks"
)]
pub struct PluginCli {
    /// The namespace of the Installations (default: the kubeconfig context's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// A summary per Installation: conditions, queue, failing orders, webhook backlog, runs,
    /// workers, subscriptions.
    Status(StatusArgs),
    /// The order queue, through the in-cluster console: list, show, send, resend, delete, refetch.
    Orders(super::orders::OrdersArgs),
    /// The audit log, through the in-cluster console.
    Audit(super::audit::AuditArgs),
    /// The scheduler's jobs, through the in-cluster console.
    Jobs(super::jobs::JobsArgs),
    /// The Stream webhook events, through the in-cluster console: list (by status and
    /// code), retry a Failed one.
    Webhooks(super::webhook_events::WebhookEventsArgs),
    /// Print a shell completion script for `kubectl-linnstream` (bash, zsh, fish, ...).
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// One Installation (default: every one in the namespace).
    pub name: Option<String>,
    /// The console as NAMESPACE/SERVICE[:PORT] (default: the one Service the chart made,
    /// found by its labels).
    #[arg(long, env = "LINNSTREAM_CONSOLE")]
    pub console: Option<String>,
    /// An admin token for the console (failing orders, webhook backlog, next runs);
    /// without one those lines say so.
    #[arg(long, env = crate::server::admin::auth::TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,
}

pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = PluginCli::parse_from(args);
    crate::observe::logs::init(
        crate::observe::logs::LogFormat::Text,
        "warn",
        "kubectl-linnstream",
    );
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Completion for a command, printed to standard output (a closed pipe, as with `| head`,
/// ends it quietly).
pub fn print_completion(shell: clap_complete::Shell, mut command: clap::Command, name: &str) {
    use std::io::Write as _;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    let _ = std::io::stdout().write_all(&script);
}

fn run(cli: PluginCli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let namespace = cli.namespace.clone();
    match cli.command {
        PluginCommand::Completion { shell } => {
            print_completion(shell, PluginCli::command(), PLUGIN_NAME);
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Status(args) => runtime.block_on(status(namespace, args)),
        PluginCommand::Orders(mut args) => {
            runtime.block_on(aim(&mut args.client, namespace))?;
            drop(runtime);
            super::orders::run(args)
        }
        PluginCommand::Audit(mut args) => {
            runtime.block_on(aim(&mut args.client, namespace))?;
            drop(runtime);
            super::audit::run(args)
        }
        PluginCommand::Jobs(mut args) => {
            runtime.block_on(aim(&mut args.client, namespace))?;
            drop(runtime);
            super::jobs::run(args)
        }
        PluginCommand::Webhooks(mut args) => {
            runtime.block_on(aim(&mut args.client, namespace))?;
            drop(runtime);
            super::webhook_events::run(args)
        }
    }
}

/// Points an admin command at the in-cluster console: `--console`, else the chart's one
/// console Service; the installation defaults to the only one in `-n NAMESPACE`.
async fn aim(client: &mut AdminClientArgs, namespace: Option<String>) -> anyhow::Result<()> {
    let kube = kube_client().await?;
    if client.console.is_none() {
        client.console = Some(find_console(&kube).await?);
    }
    if client.installation.is_none() {
        let ns = namespace.unwrap_or_else(|| kube.default_namespace().to_string());
        let names: Vec<String> = Api::<Installation>::namespaced(kube, &ns)
            .list(&ListParams::default())
            .await
            .with_context(|| format!("listing the Installations of namespace {ns}"))?
            .items
            .into_iter()
            .filter_map(|i| i.metadata.name)
            .collect();
        match names.as_slice() {
            [only] => client.installation = Some(format!("{ns}/{only}")),
            [] => bail!(
                "namespace {ns} has no Installation; choose one with -n or --installation NAMESPACE/NAME"
            ),
            many => bail!(
                "namespace {ns} has {} Installations ({}); choose one with --installation {ns}/NAME",
                many.len(),
                many.join(", ")
            ),
        }
    }
    Ok(())
}

async fn kube_client() -> anyhow::Result<kube::Client> {
    kube::Client::try_default()
        .await
        .context("finding the Kubernetes API (KUBECONFIG or ~/.kube/config)")
}

/// The console Service the chart made, as NAMESPACE/SERVICE:PORT.
async fn find_console(kube: &kube::Client) -> anyhow::Result<String> {
    let services = Api::<Service>::all(kube.clone())
        .list(&ListParams::default().labels(CONSOLE_SELECTOR))
        .await
        .context("looking for the linnstream console Service (pass --console NAMESPACE/SERVICE to name it)")?;
    let found: Vec<String> = services
        .items
        .iter()
        .filter_map(|s| {
            let port = s.spec.as_ref()?.ports.as_ref()?.first()?.port;
            Some(format!(
                "{}/{}:{port}",
                s.metadata.namespace.as_deref()?,
                s.metadata.name.as_deref()?
            ))
        })
        .collect();
    match found.as_slice() {
        [only] => Ok(only.clone()),
        [] => bail!(
            "no linnstream console Service found: install the chart with admin.enabled=true, or pass --console NAMESPACE/SERVICE"
        ),
        many => bail!(
            "{} console Services found ({}); choose one with --console",
            many.len(),
            many.join(", ")
        ),
    }
}

/// What the console adds to the status, or why it cannot.
struct ConsoleView {
    installations: Vec<Value>,
    client: AdminClient,
}

async fn console_view(args: &StatusArgs, kube: &kube::Client) -> Result<ConsoleView, String> {
    let Some(token) = args.token.clone() else {
        return Err(format!(
            "no admin token: pass --token or set {}",
            crate::server::admin::auth::TOKEN_ENV
        ));
    };
    let console = match &args.console {
        Some(c) => {
            parse_console(c).map_err(|e| e.to_string())?;
            c.clone()
        }
        None => find_console(kube).await.map_err(|e| format!("{e:#}"))?,
    };
    let client_args = AdminClientArgs {
        server: "http://127.0.0.1:8081".into(),
        token: Some(token),
        installation: None,
        user: None,
        output: Output::Json,
        console: Some(console),
    };
    let client = AdminClient::connect(&client_args)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let list = client
        .get(&["installations"], &[])
        .await
        .map_err(|e| format!("{e:#}"))?;
    Ok(ConsoleView {
        installations: list["installations"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        client,
    })
}

fn run_row(job: &str, run: Option<&LastRun>, next: Option<&str>) -> Vec<String> {
    vec![
        job.to_string(),
        run.map(|r| r.time.clone()).unwrap_or_else(|| "-".into()),
        run.map(|r| r.outcome.clone()).unwrap_or_else(|| "-".into()),
        next.unwrap_or("-").to_string(),
        run.and_then(|r| r.message.clone()).unwrap_or_default(),
    ]
}

async fn status(namespace: Option<String>, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let kube = kube_client().await?;
    let ns = namespace.unwrap_or_else(|| kube.default_namespace().to_string());
    let api: Api<Installation> = Api::namespaced(kube.clone(), &ns);
    let installations = match &args.name {
        Some(name) => vec![
            api.get_opt(name)
                .await
                .with_context(|| format!("reading Installation {ns}/{name}"))?
                .ok_or_else(|| anyhow!("Installation {ns}/{name} not found"))?,
        ],
        None => {
            api.list(&ListParams::default())
                .await
                .with_context(|| format!("listing the Installations of namespace {ns}"))?
                .items
        }
    };
    if installations.is_empty() {
        println!("No Installations in namespace {ns}.");
        return Ok(ExitCode::SUCCESS);
    }
    let console = console_view(&args, &kube).await;
    let mut not_ready = false;
    for (i, inst) in installations.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let name = inst.metadata.name.clone().unwrap_or_default();
        let id = format!("{ns}/{name}");
        let status = inst.status.clone().unwrap_or_default();
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
        println!("Installation {id}");
        match ready {
            Some(c) => {
                not_ready |= c.status != crate::crd::ConditionStatus::True;
                println!(
                    "Ready:               {} ({}) {}",
                    c.status, c.reason, c.message
                );
            }
            None => {
                not_ready = true;
                println!("Ready:               Unknown (the operator has not reported yet)");
            }
        }
        println!(
            "Suspended:           {}",
            if inst.spec.suspend { "yes" } else { "no" }
        );
        if let Some(url) = &status.webhook_url {
            println!("Webhook URL:         {url}");
        }
        println!(
            "Last sync:           {}",
            status.last_sync_time.as_deref().unwrap_or("never")
        );

        println!("\nConditions");
        let mut t = Table::new(&["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]);
        for c in &status.conditions {
            t.row(vec![
                c.type_.clone(),
                c.status.to_string(),
                c.reason.clone(),
                c.last_transition_time.clone(),
                c.message.clone(),
            ]);
        }
        print!("{}", t.render());

        println!("\nQueue");
        match &status.queue {
            Some(q) => println!(
                "Pending {}, In Progress {}, Ready for Retry {}, Failed {}, Validation Failed {}, Completed {}, Deleted {}",
                q.pending,
                q.in_progress,
                q.ready_for_retry,
                q.failed,
                q.validation_failed,
                q.completed,
                q.deleted
            ),
            None => println!("not reported yet"),
        }

        // The console's view of this installation, if reachable.
        let mut next_runs: Vec<(String, String)> = Vec::new();
        match &console {
            Ok(view) => {
                let found = view.installations.iter().find(|v| v["id"] == id.as_str());
                match found {
                    Some(v) => {
                        let w = &v["webhooks"];
                        println!(
                            "\nWebhook backlog:     {} pending, {} ready for retry, {} failed",
                            w["pending"], w["readyForRetry"], w["failed"]
                        );
                    }
                    None => {
                        println!("\nWebhook backlog:     the console does not serve {id} (yet)")
                    }
                }
                let failed = view
                    .client
                    .get(
                        &["installations", &ns, &name, "orders"],
                        &[("status", "Failed".into()), ("limit", "10".into())],
                    )
                    .await;
                println!("\nFailing orders");
                match failed {
                    Ok(reply) => {
                        let orders = reply["orders"].as_array().cloned().unwrap_or_default();
                        if orders.is_empty() {
                            println!("none");
                        } else {
                            let mut t = Table::new(&["ORDER", "REFERENCE", "HTTP", "LAST ERROR"]);
                            for o in &orders {
                                t.row(vec![
                                    super::table::text(&o["numOrderId"]),
                                    super::table::text(&o["reference"]),
                                    super::table::text(&o["lastHttpStatus"]),
                                    super::table::text(&o["lastError"]),
                                ]);
                            }
                            print!("{}", t.render());
                        }
                    }
                    Err(e) => println!("cannot be read from the console: {e:#}"),
                }
                if let Ok(jobs) = view
                    .client
                    .get(&["installations", &ns, &name, "jobs"], &[])
                    .await
                {
                    for j in jobs["jobs"].as_array().cloned().unwrap_or_default() {
                        if let (Some(job), Some(next)) =
                            (j["job"].as_str(), j["nextRunAt"].as_str())
                        {
                            next_runs.push((job.to_string(), next.to_string()));
                        }
                    }
                }
            }
            Err(why) => println!("\nFailing orders, webhook backlog, next runs: not shown ({why})"),
        }
        let next = |job: &str| {
            next_runs
                .iter()
                .find(|(j, _)| j == job)
                .map(|(_, n)| n.as_str())
        };

        println!("\nRuns");
        let mut t = Table::new(&["JOB", "LAST RUN", "OUTCOME", "NEXT RUN", "MESSAGE"]);
        for (job, run) in [
            (Job::Fetch, status.last_fetch.as_ref()),
            (Job::Send, status.last_send.as_ref()),
            (Job::Webhooks, status.last_webhook.as_ref()),
            (Job::Identifiers, status.last_identifiers_sync.as_ref()),
            (
                Job::PostalServices,
                status.last_postal_services_sync.as_ref(),
            ),
        ] {
            t.row(run_row(job.name(), run, next(job.name())));
        }
        print!("{}", t.render());

        println!("\nWorkers");
        match &status.workers {
            Some(w) => println!(
                "{} live heartbeat(s), last {}, {} available replica(s)",
                w.live_heartbeats,
                w.last_heartbeat.as_deref().unwrap_or("never"),
                w.available_replicas
            ),
            None => println!("not reported yet"),
        }

        println!("\nStream webhook subscriptions");
        match &status.webhook_subscriptions {
            Some(s) if !s.subscriptions.is_empty() => {
                let events: Vec<&str> = s.subscriptions.iter().map(|e| e.event.as_str()).collect();
                println!(
                    "{} event(s) to {} (token {}): {}",
                    events.len(),
                    s.url,
                    s.token_fingerprint,
                    events.join(", ")
                );
            }
            _ => println!("none"),
        }
    }
    Ok(if not_ready {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_is_chosen_by_the_executable_name() {
        assert!(invoked_as_plugin(&OsString::from("kubectl-linnstream")));
        assert!(invoked_as_plugin(&OsString::from(
            "/usr/local/bin/kubectl-linnstream"
        )));
        assert!(invoked_as_plugin(&OsString::from(
            "C:/bin/kubectl-linnstream.exe"
        )));
        assert!(!invoked_as_plugin(&OsString::from("/usr/bin/linnstream")));
        assert!(!invoked_as_plugin(&OsString::from("kubectl-linnstreamer")));
    }

    #[test]
    fn consoles_are_named_namespace_service_port() {
        assert_eq!(
            parse_console("ops/shop-linnstream-console:8081").expect("valid"),
            ("ops".into(), "shop-linnstream-console".into(), Some(8081))
        );
        assert_eq!(
            super::super::admin_client::proxy_prefix("ops", "c", Some(8081)),
            "/api/v1/namespaces/ops/services/c:8081/proxy"
        );
        for bad in ["console", "ops/", "ops/c:http", "Ops/c", "ops/c/x"] {
            let e = parse_console(bad).expect_err(bad).to_string();
            assert!(e.contains("expected NAMESPACE/SERVICE[:PORT]"), "{e}");
        }
    }

    #[test]
    fn the_plugin_parses_kubectl_style_arguments() {
        let cli = PluginCli::try_parse_from(["kubectl-linnstream", "-n", "shop", "status", "acme"])
            .expect("parse");
        assert_eq!(cli.namespace.as_deref(), Some("shop"));
        assert!(
            matches!(cli.command, PluginCommand::Status(ref s) if s.name.as_deref() == Some("acme"))
        );
        PluginCli::command().debug_assert();
    }
}
