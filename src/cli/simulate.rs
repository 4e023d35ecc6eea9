//! `linnstream simulate`: the Linnworks and Stream simulators on loopback ports, for
//! trying the API by hand (see docs/simulators.md). Runs until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::sim::linnworks::{LinnworksSim, LinnworksSimConfig};
use crate::sim::stream::{StreamSim, StreamSimConfig};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Port of the Linnworks simulator (0: any free port).
    #[arg(long, default_value_t = 8081)]
    pub linnworks_port: u16,
    /// Do not start the Linnworks simulator.
    #[arg(long)]
    pub no_linnworks: bool,
    /// Open orders the Linnworks simulator starts with (0 to 1000).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub demo_orders: u16,
    /// Start the Linnworks simulator with no open orders (the same as `--demo-orders 0`).
    #[arg(long, conflicts_with = "demo_orders")]
    pub no_demo_orders: bool,
    /// Port of the Stream simulator (0: any free port).
    #[arg(long, default_value_t = 8082)]
    pub stream_port: u16,
    /// Do not start the Stream simulator.
    #[arg(long)]
    pub no_stream: bool,
    /// Address to listen on. Loopback by default: the simulators have no real security.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    if args.no_linnworks && args.no_stream {
        anyhow::bail!("--no-linnworks and --no-stream together leave nothing to run");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(simulate(args))
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut servers = Vec::new();
    if !args.no_linnworks {
        let sim = LinnworksSim::new(LinnworksSimConfig::default());
        let demo_orders = if args.no_demo_orders {
            0
        } else {
            args.demo_orders
        };
        sim.seed_demo(usize::from(demo_orders))
            .map_err(|e| anyhow::anyhow!("seeding demo data: {}", e.message))?;
        let server = sim
            .start(SocketAddr::new(args.bind, args.linnworks_port))
            .await
            .with_context(|| {
                format!(
                    "Linnworks simulator: cannot listen on port {}",
                    args.linnworks_port
                )
            })?;
        print!("{}", sim.banner(&server.url()));
        // A new user's first fetch finds these; say so, so they are not taken for real data.
        if demo_orders == 0 {
            println!("  It starts with no open orders (add some through its test API).");
        } else {
            println!(
                "  It starts with {demo_orders} demo open order(s), made up for trying it; \
                 --no-demo-orders (or --demo-orders 0) starts it empty."
            );
        }
        servers.push(server);
    }
    if !args.no_stream {
        let sim = StreamSim::new(StreamSimConfig::default())
            .map_err(|e| anyhow::anyhow!("Stream simulator: {e}"))?;
        let server = sim
            .serve(SocketAddr::new(args.bind, args.stream_port))
            .await
            .with_context(|| {
                format!(
                    "Stream simulator: cannot listen on port {}",
                    args.stream_port
                )
            })?;
        print!("{}", sim.banner(&server.url()));
        servers.push(server);
    }
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    for server in servers {
        server.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}
