//! `posbridge bench ...`: benchmarks that report figures against a baseline
//! measured in the same run.

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the benchmark.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("no benchmark is available yet")
}
