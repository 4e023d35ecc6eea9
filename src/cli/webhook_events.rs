//! `linnstream webhook-events list|retry`: the Stream notifications a running process
//! received, and a manual retry of a Failed one, through its admin API. (`linnstream
//! webhooks` is taken: it is the per-installation receiver the operator runs.)

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::admin_client::{AdminClient, AdminClientArgs, Output};
use super::table::{Table, text, time};

#[derive(Args, Debug)]
pub struct WebhookEventsArgs {
    #[command(flatten)]
    pub client: AdminClientArgs,
    #[command(subcommand)]
    pub command: WebhookEventsCommand,
}

#[derive(Subcommand, Debug)]
pub enum WebhookEventsCommand {
    /// List received webhook events, newest first, with the counts per status.
    List {
        /// Only events in this status (Pending, Processed, Failed, "Ready for Retry").
        #[arg(long)]
        status: Option<String>,
        /// Only events with this Stream event code.
        #[arg(long)]
        code: Option<String>,
        /// At most this many events (1-1000; default 100).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Queue a Failed event for processing again (its retry count starts again).
    Retry {
        /// The event id, as `list` shows it.
        event_id: u64,
    },
}

pub fn run(args: WebhookEventsArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = AdminClient::new(&args.client)?;
        let (ns, name) = client.installation().await?;
        let inst = ["installations", ns.as_str(), name.as_str()];
        let reply = match args.command {
            WebhookEventsCommand::List {
                status,
                code,
                limit,
            } => {
                let mut query: Vec<(&str, String)> = Vec::new();
                query.extend(status.map(|v| ("status", v)));
                query.extend(code.map(|v| ("code", v)));
                query.extend(limit.map(|v| ("limit", v.to_string())));
                let reply = client
                    .get(&[&inst[..], &["webhooks"]].concat(), &query)
                    .await?;
                if client.output == Output::Table {
                    print_list(&ns, &name, &reply);
                }
                reply
            }
            WebhookEventsCommand::Retry { event_id } => {
                let id = event_id.to_string();
                let reply = client
                    .post(
                        &[&inst[..], &["webhooks", id.as_str(), "retry"]].concat(),
                        &json!({}),
                    )
                    .await?;
                if client.output == Output::Table {
                    println!(
                        "{} (correlation id {}, now {})",
                        text(&reply["message"]),
                        text(&reply["correlationId"]),
                        text(&reply["event"]["status"])
                    );
                }
                reply
            }
        };
        if client.output == Output::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&reply).unwrap_or_default()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_list(ns: &str, name: &str, reply: &Value) {
    let c = &reply["counts"];
    println!(
        "installation {ns}/{name}: {} pending, {} ready for retry, {} failed, {} processed \
         (times in UTC)",
        text(&c["pending"]),
        text(&c["readyForRetry"]),
        text(&c["failed"]),
        text(&c["processed"]),
    );
    let mut t = Table::new(&[
        "ID",
        "RECEIVED",
        "CODE",
        "STATUS",
        "RETRIES",
        "ORDERS",
        "LAST ERROR",
    ]);
    for e in reply["events"].as_array().into_iter().flatten() {
        let orders: Vec<String> = e["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        t.row(vec![
            text(&e["id"]),
            time(&e["receivedAt"]),
            text(&e["eventCode"]),
            text(&e["status"]),
            text(&e["retryCount"]),
            orders.join(", "),
            text(&e["lastError"]),
        ]);
    }
    if t.is_empty() {
        println!("no webhook events match");
    } else {
        print!("{}", t.render());
    }
}
