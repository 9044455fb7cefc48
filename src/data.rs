//! `mlops-ci data profile` and `mlops-ci data check`: the data checks on their own, with the
//! profile printed or the config's checks run against the baseline's profiles.

use std::io::{IsTerminal as _, Write as _};

use anyhow::{Context as _, anyhow};

use crate::cli::{DataCheckArgs, DataInput, DataProfileArgs, Format};
use crate::config::model::DataFormat;
use crate::{Context, ExitStatus, validate};

/// `mlops-ci data profile FILE`.
pub fn profile(ctx: &Context, args: &DataProfileArgs) -> anyhow::Result<ExitStatus> {
    let path = ctx.dir.join(&args.file);
    let name = args.file.display().to_string();
    let format = args.input.map(|f| match f {
        DataInput::Csv => DataFormat::Csv,
        DataInput::Jsonl => DataFormat::Jsonl,
        DataInput::Parquet => DataFormat::Parquet,
    });
    let options = validate::Options {
        progress: !ctx.quiet && std::io::stderr().is_terminal(),
        threads: args
            .threads
            .unwrap_or_else(|| validate::Options::threaded().threads),
    };
    let (profile, _) = validate::profile(&path, &name, format, options)?;
    let text = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(&profile).context("while printing the profile")? + "\n"
        }
        Format::Human => validate::text::profile(&name, &profile),
    };
    write!(std::io::stdout(), "{text}").context("while printing the profile")?;
    Ok(ExitStatus::Success)
}

/// `mlops-ci data check [--stage NAME]`: exit 0 when every check held, 1 when one failed, 2 when
/// a file could not be read.
pub fn check(ctx: &Context, args: &DataCheckArgs) -> anyhow::Result<ExitStatus> {
    let loaded = crate::load(ctx)?;
    let config = &loaded.config;
    if let Some(stage) = &args.stage {
        if !config.stages.contains_key(stage) {
            let names: Vec<&str> = config.stages.keys().map(String::as_str).collect();
            return Err(anyhow!(
                "no stage `{stage}` in `{}`; the stages are {}",
                loaded.source.name(),
                crate::diagnostic::backticked(&names)
            ));
        }
    }
    let workspace = crate::workspace(ctx, Some(&loaded));
    let found = crate::measure::find_baseline(config, &workspace, |n| std::env::var(n).ok())?;
    if !ctx.quiet {
        eprintln!("{}", found.message);
    }
    let baseline = found.used.as_ref().map(|_| &found.profiles);
    let options = validate::Options {
        progress: !ctx.quiet && std::io::stderr().is_terminal(),
        threads: args
            .threads
            .unwrap_or_else(|| validate::Options::threaded().threads),
    };
    let mut all = indexmap::IndexMap::new();
    for (name, stage) in &config.stages {
        if args.stage.as_ref().is_some_and(|s| s != name) || stage.data.is_empty() {
            continue;
        }
        let reports = crate::execute::data::check_all(&stage.data, &workspace, baseline, options);
        if args.format == Format::Human {
            let mut out = format!("stage `{name}`\n");
            for r in &reports {
                out.push_str(&validate::text::report(r));
            }
            write!(std::io::stdout(), "{out}").context("while printing the data checks")?;
        }
        all.insert(name.clone(), reports);
    }
    if args.format == Format::Json {
        let text = serde_json::to_string_pretty(&all).context("while printing the data checks")?;
        writeln!(std::io::stdout(), "{text}").context("while printing the data checks")?;
    }
    if all.is_empty() {
        return Err(anyhow!(
            "{} has no `data:` checks{}",
            loaded.source.name(),
            args.stage
                .as_ref()
                .map(|s| format!(" in stage `{s}`"))
                .unwrap_or_default()
        ));
    }
    for (stage, reports) in &all {
        if let Some(why) = crate::execute::data::failure(stage, reports) {
            if reports.iter().any(|r| r.error.is_some()) {
                return Err(anyhow!("{why}"));
            }
        }
    }
    let failed = all.values().flatten().any(|r| !r.passed);
    Ok(if failed {
        ExitStatus::Failed
    } else {
        ExitStatus::Success
    })
}
