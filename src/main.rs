//! The `mlops-ci` binary: parse the command line, run, render any error, map to an exit code.

use std::process::ExitCode;

use clap::Parser as _;
use mlops_ci::cli::Cli;
use mlops_ci::{Context, ExitStatus};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Error.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    let ctx = match Context::from_env(&cli.global) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprint!("{}", mlops_ci::render_error(&e, false));
            return ExitStatus::Error.into();
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitStatus::Error.into();
        }
    };
    match runtime.block_on(mlops_ci::run(&cli, &ctx)) {
        Ok(status) => status.into(),
        Err(e) => {
            eprint!("{}", mlops_ci::render_error(&e, ctx.color));
            ExitStatus::Error.into()
        }
    }
}
