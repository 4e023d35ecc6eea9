use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Args, Debug)]
pub struct CrdArgs {
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: CrdArgs) -> anyhow::Result<ExitCode> {
    let yaml = crate::crd::crds_yaml().context("serialising the CRDs")?;
    match args.output {
        Some(path) => {
            std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{yaml}"),
    }
    Ok(ExitCode::SUCCESS)
}
