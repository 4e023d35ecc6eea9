//! `linnstream demo`: the whole integration on one machine with no accounts: both
//! simulators, `run` on an embedded SQLite database, a realistic mix of orders, Stream
//! planning and delivery events, and a summary of what ended where.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

use crate::app::{AppOptions, RunningApp, start};
use crate::domain::Job;
use crate::domain::OrderStatus;
use crate::server::admin::AdminAuth;
use crate::settings::SystemSettings;
use crate::sim::world::{NAME, NAMESPACE, World, WorldSettings, demo_orders};
use crate::store::OrderQuery;
use crate::sync::scheduler::run_job;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's resources, database and labels (recreated on each run).
    #[arg(long, default_value = ".demo")]
    pub dir: PathBuf,
    /// Address of the demo's HTTP listener (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Keep everything running after the summary, until Ctrl-C, to explore it.
    #[arg(long)]
    pub keep_running: bool,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(demo(args))
}

fn step(text: &str) {
    println!("\n==> {text}");
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("clearing {}", args.dir.display()))?;
    }
    let resources = args.dir.join("resources");
    std::fs::create_dir_all(&resources)?;

    step("Starting the Linnworks and Stream simulators");
    let world = World::start().await?;
    println!("    Linnworks API  {}", world.linnworks_url());
    println!("    Stream API     {}", world.stream_url());

    // The listener's address goes into the Installation (Stream's webhook target), so pick
    // the port before writing the resources.
    let listen = if args.listen.port() == 0 {
        std::net::TcpListener::bind(args.listen)?.local_addr()?
    } else {
        args.listen
    };
    let base = format!("http://{listen}");
    let settings = WorldSettings {
        public_base_url: Some(base.clone()),
        ..WorldSettings::default()
    };
    world.write_resources(&resources, &settings)?;
    println!(
        "    Resources      {} (Installation, Secrets, two PostalServiceMappings)",
        resources.display()
    );

    step("Starting linnstream run (SQLite queue, scheduler, HTTP on one port)");
    let admin_token = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let database = args.dir.join("linnstream.db");
    let app = start(AppOptions {
        config_dir: resources.clone(),
        database_url: format!("sqlite:{}", database.display()),
        listen,
        settings: SystemSettings::default(),
        master_data: true,
        remote: None,
        scheduler: true,
        webhook_secret: None,
        admin: Some(AdminAuth::new(vec![("demo".into(), admin_token.clone())])?),
    })
    .await?;
    println!("    Listening on   {}", app.url());
    println!("    Queue          {}", database.display());
    let key = crate::domain::InstallationKey::new(NAMESPACE, NAME);
    let permits = crate::sync::permits::Permits::local(1);

    step("Master data: registering identifiers and Stream postal services in Linnworks");
    // The scheduler syncs master data at once when it never ran; wait for it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut done = true;
        for job in [Job::Identifiers, Job::PostalServices] {
            let run = app
                .engine
                .store()
                .last_job_run(&key.id(), job.name())
                .await
                .ok()
                .flatten();
            done &= run.is_some_and(|r| r.finished_at.is_some());
        }
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for job in [Job::Identifiers, Job::PostalServices] {
        if let Ok(Some(run)) = app.engine.store().last_job_run(&key.id(), job.name()).await {
            println!("    {:<34} {} - {}", job.name(), run.outcome, run.message);
        }
    }

    step("Seeding Linnworks with open orders");
    let orders = demo_orders(1001);
    for o in &orders {
        println!(
            "    #{} {:<26} {}",
            o["numOrderId"],
            o["postalServiceName"].as_str().unwrap_or_default(),
            describe(o)
        );
    }
    world.add_orders(orders)?;

    step("Fetching open orders and sending them to Stream");
    run_job(&app.engine, &key, Job::Fetch, &permits).await;
    wait_for_queue(&app, &key.id()).await;
    print_counts(&app, &key.id()).await;

    step("Printing labels as Linnworks does (GenerateLabel over HTTP)");
    super::demo_labels::print_labels(&app.url(), &app.engine, &key, &args.dir.join("labels"))
        .await?;

    step("Stream plans a delivery run and delivers and collects orders (webhooks)");
    let completed = orders_in(&app, &key.id(), OrderStatus::Completed).await;
    let mut consignments: Vec<(i64, String)> = completed
        .iter()
        .filter_map(|o| Some((o.num_order_id?, o.stream_order_id.clone()?)))
        .collect();
    consignments.sort();
    let deliveries: Vec<&(i64, String)> = consignments.iter().filter(|(n, _)| *n != 1007).collect();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let plan = json!({
        "action": "plan",
        "runNumber": 3,
        "deliveryDate": tomorrow.format("%Y-%m-%d").to_string(),
        "orders": deliveries.iter().enumerate().map(|(i, (_, no))| json!({"orderNo": no, "sequence": i + 1})).collect::<Vec<_>>(),
    });
    sim_event(&world, plan).await?;
    println!(
        "    RUN 03 planned for {} with {} orders",
        tomorrow.format("%A %d %B"),
        deliveries.len()
    );
    if let Some((_, first)) = deliveries.first() {
        sim_event(&world, json!({"action": "deliver", "orderNo": first})).await?;
        println!("    {first} delivered");
    }
    if let Some((_, collection)) = consignments.iter().find(|(n, _)| *n == 1007) {
        sim_event(&world, json!({"action": "collect", "orderNo": collection})).await?;
        println!("    {collection} collected");
    }
    // Give Stream's notifications a moment to arrive, then process them.
    tokio::time::sleep(Duration::from_millis(800)).await;
    for _ in 0..10 {
        run_job(&app.engine, &key, Job::Webhooks, &permits).await;
        let counts = app.engine.store().webhook_counts(&key.id()).await?;
        if counts.pending == 0 && counts.ready_for_retry == 0 {
            println!(
                "    {} webhook events processed, {} failed",
                counts.processed, counts.failed
            );
            break;
        }
    }

    step("Where every order ended up");
    summary(&app, &world, &key.id()).await?;

    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
    println!(
        "    {}                  the resources the demo ran with",
        resources.display()
    );
    println!("    docs/sync.md, docs/simulators.md   how it works");
    if !args.keep_running {
        println!(
            "    linnstream demo --keep-running      to explore the dashboard, admin API and simulators"
        );
        app.shutdown().await;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "    {}/admin                 the dashboard (sign in with the token below)",
        app.url()
    );
    println!(
        "    {}/api/admin/installations   the admin API (Authorization: Bearer {admin_token})",
        app.url()
    );
    println!(
        "    {}/_sim/requests   every call linnstream made to Linnworks",
        world.linnworks_url()
    );
    println!(
        "    {}/_sim/orders     the orders Stream received",
        world.stream_server.url()
    );
    println!("\nStill running on {}; Ctrl-C stops it.", app.url());
    app.until_signal().await;
    Ok(ExitCode::SUCCESS)
}

fn describe(order: &Value) -> String {
    let n = order["numOrderId"].as_i64().unwrap_or_default();
    match n % 1000 {
        4 => "address without town or postcode".into(),
        5 => "Stream service nobody mapped".into(),
        6 => "composite item: a dining set of a table and four chairs".into(),
        7 => "a collection (returns)".into(),
        8 => "another carrier: not the integration's".into(),
        _ => "a delivery".into(),
    }
}

async fn sim_event(world: &World, body: Value) -> anyhow::Result<()> {
    let url = format!("{}/_sim/events", world.stream_server.url());
    let response = reqwest::Client::new().post(&url).json(&body).send().await?;
    if !response.status().is_success() {
        anyhow::bail!(
            "the Stream simulator refused {body}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

async fn orders_in(
    app: &RunningApp,
    installation: &str,
    status: OrderStatus,
) -> Vec<crate::store::Order> {
    app.engine
        .store()
        .list_orders(&OrderQuery {
            installation: installation.into(),
            status: Some(status),
            limit: 100,
            ..OrderQuery::default()
        })
        .await
        .map(|p| p.orders)
        .unwrap_or_default()
}

/// Waits (up to a minute) until nothing is Pending or In Progress.
async fn wait_for_queue(app: &RunningApp, installation: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match app.engine.store().queue_counts(installation).await {
            Ok(c) if c.pending == 0 && c.in_progress == 0 && c.ready_for_retry == 0 => return,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn print_counts(app: &RunningApp, installation: &str) {
    if let Ok(c) = app.engine.store().queue_counts(installation).await {
        println!(
            "    Completed {}, Validation Failed {}, Failed {}, Pending {}",
            c.completed, c.validation_failed, c.failed, c.pending
        );
    }
}

async fn summary(app: &RunningApp, world: &World, installation: &str) -> anyhow::Result<()> {
    let page = app
        .engine
        .store()
        .list_orders(&OrderQuery {
            installation: installation.into(),
            limit: 100,
            ..OrderQuery::default()
        })
        .await?;
    let mut rows: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for o in page.orders {
        let num = o.num_order_id.unwrap_or_default();
        let lw = world
            .linnworks
            .order(&num.to_string())
            .unwrap_or(Value::Null);
        let identifiers: Vec<String> = lw["GeneralInfo"]["Identifiers"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| i["Name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let notes = lw["Notes"].as_array().map(Vec::len).unwrap_or_default();
        let processed = lw["Processed"].as_bool().unwrap_or_default();
        let detail = match o.status {
            OrderStatus::Completed => format!(
                "{} notes{}",
                notes,
                if processed { ", processed" } else { "" }
            ),
            _ => o.last_error.clone().unwrap_or_default(),
        };
        rows.insert(
            num,
            vec![
                num.to_string(),
                o.status.label().to_string(),
                o.tracking_number.clone().unwrap_or_else(|| "-".into()),
                if identifiers.is_empty() {
                    "-".into()
                } else {
                    identifiers.join(", ")
                },
                truncate(&detail, 70),
            ],
        );
    }
    let header = [
        "Order",
        "Status",
        "Tracking",
        "Identifiers in Linnworks",
        "Notes / reason",
    ];
    let table: Vec<Vec<String>> = rows.into_values().collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("    {}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for row in &table {
        line(row.iter().map(String::as_str).collect());
    }
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(max - 3).collect::<String>())
    }
}
