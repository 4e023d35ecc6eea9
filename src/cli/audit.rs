//! `linnstream audit`: the audit log of a running process, through its admin API.

use std::process::ExitCode;

use clap::Args;

use super::admin_client::{AdminClient, AdminClientArgs, Output};
use super::orders::audit_table;

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub client: AdminClientArgs,
    /// Only entries about this Linnworks order.
    #[arg(long)]
    pub order_id: Option<String>,
    /// Only entries of this job run or action.
    #[arg(long)]
    pub correlation_id: Option<String>,
    /// Only this action: Fetch, Validate, Send, Resend, Label, Webhook, "Master Data", Delete,
    /// "Write Back".
    #[arg(long)]
    pub action: Option<String>,
    /// From this time (RFC 3339, or a date), inclusive.
    #[arg(long)]
    pub from: Option<String>,
    /// Until this time (RFC 3339, or a date), exclusive.
    #[arg(long)]
    pub to: Option<String>,
    /// At most this many entries, newest first (1-1000; default 100).
    #[arg(long)]
    pub limit: Option<u64>,
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = AdminClient::connect(&args.client).await?;
        let (ns, name) = client.installation().await?;
        let mut query: Vec<(&str, String)> = Vec::new();
        query.extend(args.order_id.map(|v| ("orderId", v)));
        query.extend(args.correlation_id.map(|v| ("correlationId", v)));
        query.extend(args.action.map(|v| ("action", v)));
        query.extend(args.from.map(|v| ("from", v)));
        query.extend(args.to.map(|v| ("to", v)));
        query.extend(args.limit.map(|v| ("limit", v.to_string())));
        let reply = client
            .get(&["installations", &ns, &name, "audit"], &query)
            .await?;
        match client.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&reply).unwrap_or_default()
            ),
            Output::Table => {
                let table = audit_table(&reply["entries"]);
                if table.is_empty() {
                    println!("no audit entries match");
                } else {
                    print!("{}", table.render());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
