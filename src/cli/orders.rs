//! `linnstream orders list|show|send|resend|delete|refetch`: the order queue of a running
//! process, through its admin API.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::admin_client::{AdminClient, AdminClientArgs, Output};
use super::table::{Table, text, time};

#[derive(Args, Debug)]
pub struct OrdersArgs {
    #[command(flatten)]
    pub client: AdminClientArgs,
    #[command(subcommand)]
    pub command: OrdersCommand,
}

#[derive(Subcommand, Debug)]
pub enum OrdersCommand {
    /// List the order queue, newest first.
    List {
        /// Only orders in this status (e.g. Pending, Failed, "Validation Failed").
        #[arg(long)]
        status: Option<String>,
        /// Order id or number, Stream order or consignment number, or part of the reference.
        #[arg(long)]
        search: Option<String>,
        /// Skip this many orders (paging).
        #[arg(long)]
        offset: Option<u64>,
        /// At most this many orders (1-500; default 50).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// One order: status, last error and HTTP status, Stream ids, tracking, audit trail.
    Show {
        /// The Linnworks order id.
        order_id: String,
    },
    /// Send these orders now, whatever Order Sync Enabled says (at most MaxUserSelectedOrders).
    Send {
        #[arg(required = true)]
        order_ids: Vec<String>,
    },
    /// Resend these Failed orders, with their retry count reset.
    Resend {
        #[arg(required = true)]
        order_ids: Vec<String>,
    },
    /// Delete these Completed orders from Stream and clear their tracking in Linnworks
    /// (at most MaxUserSelectedOrdersForDelete).
    Delete {
        #[arg(required = true)]
        order_ids: Vec<String>,
    },
    /// Fetch open orders from Linnworks now.
    Refetch,
}

pub fn run(args: OrdersArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = AdminClient::connect(&args.client).await?;
        let (ns, name) = client.installation().await?;
        let inst = ["installations", ns.as_str(), name.as_str()];
        match args.command {
            OrdersCommand::List {
                status,
                search,
                offset,
                limit,
            } => {
                let mut query: Vec<(&str, String)> = Vec::new();
                query.extend(status.map(|v| ("status", v)));
                query.extend(search.map(|v| ("search", v)));
                query.extend(offset.map(|v| ("offset", v.to_string())));
                query.extend(limit.map(|v| ("limit", v.to_string())));
                let reply = client
                    .get(&[&inst[..], &["orders"]].concat(), &query)
                    .await?;
                print(&client, &reply, print_list);
                Ok(ExitCode::SUCCESS)
            }
            OrdersCommand::Show { order_id } => {
                let reply = client
                    .get(&[&inst[..], &["orders", order_id.as_str()]].concat(), &[])
                    .await?;
                print(&client, &reply, print_order);
                Ok(ExitCode::SUCCESS)
            }
            OrdersCommand::Send { order_ids } => action(&client, &inst, "send", order_ids).await,
            OrdersCommand::Resend { order_ids } => {
                action(&client, &inst, "resend", order_ids).await
            }
            OrdersCommand::Delete { order_ids } => {
                action(&client, &inst, "delete", order_ids).await
            }
            OrdersCommand::Refetch => {
                let reply = client
                    .post(&[&inst[..], &["refetch"]].concat(), &json!({}))
                    .await?;
                print(&client, &reply, |r| {
                    println!(
                        "re-fetched: {} (correlation id {}, by {})",
                        text(&r["message"]),
                        text(&r["correlationId"]),
                        text(&r["actor"])
                    );
                });
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn print(client: &AdminClient, reply: &Value, table: fn(&Value)) {
    match client.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(reply).unwrap_or_default()
        ),
        Output::Table => table(reply),
    }
}

fn print_list(reply: &Value) {
    let mut t = Table::new(&[
        "ORDER ID",
        "NUMBER",
        "REFERENCE",
        "STATUS",
        "TRIES",
        "HTTP",
        "LAST ERROR",
        "STREAM ORDER",
        "TRACKING",
        "UPDATED",
    ]);
    let orders = reply["orders"].as_array().cloned().unwrap_or_default();
    for o in &orders {
        t.row(vec![
            text(&o["orderId"]),
            text(&o["numOrderId"]),
            text(&o["reference"]),
            text(&o["status"]),
            text(&o["attempts"]),
            text(&o["lastHttpStatus"]),
            text(&o["lastError"]),
            text(&o["streamOrderId"]),
            text(&o["trackingNumber"]),
            time(&o["updatedAt"]),
        ]);
    }
    if t.is_empty() {
        println!("no orders match");
    } else {
        print!("{}", t.render());
    }
    let offset = reply["offset"].as_u64().unwrap_or(0);
    let total = reply["total"].as_u64().unwrap_or(0);
    if !orders.is_empty() {
        println!(
            "orders {}-{} of {total}",
            offset + 1,
            offset + orders.len() as u64
        );
    }
}

fn print_order(reply: &Value) {
    let o = &reply["order"];
    let fields = [
        ("Order id", text(&o["orderId"])),
        ("Order number", text(&o["numOrderId"])),
        ("Reference", text(&o["reference"])),
        ("Status", text(&o["status"])),
        ("Order type", text(&o["orderType"])),
        ("Postal service", text(&o["postalServiceName"])),
        ("Send attempts", text(&o["attempts"])),
        ("Last HTTP status", text(&o["lastHttpStatus"])),
        ("Last error", text(&o["lastError"])),
        ("Stream order", text(&o["streamOrderId"])),
        ("Consignment", text(&o["consignmentNo"])),
        ("Tracking number", text(&o["trackingNumber"])),
        ("Tracking link", text(&o["trackingUrl"])),
        ("Queued", time(&o["createdAt"])),
        ("Updated", time(&o["updatedAt"])),
        ("Completed", time(&o["completedAt"])),
    ];
    for (label, value) in fields {
        println!("{label:<18}{value}");
    }
    println!();
    println!("Audit trail (newest first):");
    print!("{}", audit_table(&reply["audit"]).render());
}

/// Audit entries as a table (also used by `linnstream audit`).
pub fn audit_table(entries: &Value) -> Table {
    let mut t = Table::new(&[
        "TIME",
        "ACTION",
        "OUTCOME",
        "ORDER",
        "CORRELATION ID",
        "ACTOR",
        "MESSAGE",
    ]);
    for e in entries.as_array().into_iter().flatten() {
        t.row(vec![
            time(&e["at"]),
            text(&e["action"]),
            text(&e["outcome"]),
            text(&e["orderId"]),
            text(&e["correlationId"]),
            text(&e["actor"]),
            text(&e["message"]),
        ]);
    }
    t
}

async fn action(
    client: &AdminClient,
    inst: &[&str; 3],
    action: &str,
    order_ids: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let reply = client
        .post(
            &[&inst[..], &["orders", action]].concat(),
            &json!({ "orderIds": order_ids }),
        )
        .await?;
    print(client, &reply, |r| {
        println!(
            "{}: correlation id {}, by {}",
            text(&r["action"]),
            text(&r["correlationId"]),
            text(&r["actor"])
        );
        let mut t = Table::new(&["ORDER ID", "RESULT", "STATUS", "MESSAGE"]);
        for o in r["outcomes"].as_array().into_iter().flatten() {
            let ok = o["ok"].as_bool().unwrap_or(false);
            t.row(vec![
                text(&o["orderId"]),
                if ok { "ok" } else { "NOT DONE" }.into(),
                text(&o["status"]),
                text(&o["message"]),
            ]);
        }
        print!("{}", t.render());
    });
    let outcomes = reply["outcomes"].as_array().cloned().unwrap_or_default();
    let failed = outcomes
        .iter()
        .filter(|o| !o["ok"].as_bool().unwrap_or(false))
        .count();
    if failed > 0 {
        eprintln!(
            "{failed} of {} orders were not {}",
            outcomes.len(),
            match action {
                "send" => "sent",
                "resend" => "resent",
                _ => "deleted",
            }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
