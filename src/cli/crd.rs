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
    #[arg(long, conflicts_with = "values_schema")]
    pub helm: bool,
    /// Regenerate the `settings` section of the chart's values schema from the settings'
    /// definitions, keeping the rest of the file:
    /// `linnstream crd --values-schema -o charts/linnstream/values.schema.json`.
    #[arg(long, requires = "output")]
    pub values_schema: bool,
}

pub fn run(args: CrdArgs) -> anyhow::Result<ExitCode> {
    let yaml = if args.values_schema {
        let path = args
            .output
            .as_ref()
            .context("--values-schema needs -o FILE")?;
        let committed =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        crate::settings::with_values_schema_section(&committed)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else if args.helm {
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
