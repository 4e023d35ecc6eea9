use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::crd::check::{check_files, collect_files};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// YAML files or folders of *.yaml and *.yml files.
    #[arg(short = 'f', long = "filename", required = true)]
    pub paths: Vec<PathBuf>,
    /// Also search sub-folders of the folders given.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Namespace assumed for resources that do not name one.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.paths {
        if !path.exists() {
            anyhow::bail!("{}: no such file or folder", path.display());
        }
        files.extend(collect_files(path, args.recursive)?);
    }
    if files.is_empty() {
        anyhow::bail!("no .yaml or .yml files found in the paths given");
    }
    let report = check_files(&files, &args.namespace);
    for finding in &report.findings {
        eprintln!("{finding}");
    }
    let errors = report.errors();
    let warnings = report.findings.len() - errors;
    eprintln!(
        "checked {} resources in {} files: {errors} errors, {warnings} warnings",
        report.resources_checked,
        files.len()
    );
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
