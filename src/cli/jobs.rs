//! `linnstream jobs`: the scheduler view of a running process (each job's last run,
//! outcome and next run, and whether it is overdue), through its admin API.

use std::process::ExitCode;

use clap::Args;

use super::admin_client::{AdminClient, AdminClientArgs, Output};
use super::table::{Table, text, time};

#[derive(Args, Debug)]
pub struct JobsArgs {
    #[command(flatten)]
    pub client: AdminClientArgs,
}

pub fn run(args: JobsArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = AdminClient::connect(&args.client).await?;
        let (ns, name) = client.installation().await?;
        let reply = client
            .get(&["installations", &ns, &name, "jobs"], &[])
            .await?;
        if client.output == Output::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&reply).unwrap_or_default()
            );
            return Ok(ExitCode::SUCCESS);
        }
        let mut t = Table::new(&[
            "JOB",
            "SCHEDULE",
            "LAST RUN",
            "OUTCOME",
            "NEXT RUN",
            "STATE",
            "LAST MESSAGE",
        ]);
        let jobs = reply["jobs"].as_array().cloned().unwrap_or_default();
        for j in &jobs {
            let state = if !j["enabled"].as_bool().unwrap_or(false) {
                "disabled"
            } else if j["overdue"].as_bool().unwrap_or(false) {
                "OVERDUE"
            } else {
                "ok"
            };
            t.row(vec![
                text(&j["job"]),
                text(&j["schedule"]),
                time(&j["lastRun"]["startedAt"]),
                text(&j["lastRun"]["outcome"]),
                time(&j["nextRunAt"]),
                state.into(),
                text(&j["lastRun"]["message"]),
            ]);
        }
        println!("installation {ns}/{name} (times in UTC)");
        print!("{}", t.render());
        for j in jobs
            .iter()
            .filter(|j| j["overdue"].as_bool().unwrap_or(false))
        {
            println!(
                "warning: {} is overdue: {}",
                text(&j["job"]),
                text(&j["overdueReason"])
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
