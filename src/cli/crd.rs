use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Args, Debug)]
pub struct CrdArgs {
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The Helm chart's form (behind `crds.enabled`, kept on uninstall with `crds.keep`):
    /// `linnstream crd --helm -o charts/linnstream/templates/crds.yaml`.
    #[arg(long)]
    pub helm: bool,
}

pub fn run(args: CrdArgs) -> anyhow::Result<ExitCode> {
    let yaml = if args.helm {
        crate::crd::crds_helm_template().context("writing the chart's CRD template")?
    } else {
        crate::crd::crds_yaml().context("serialising the CRDs")?
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{yaml}"),
    }
    Ok(ExitCode::SUCCESS)
}
