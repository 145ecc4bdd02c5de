//! `vsctl apply -f FILE` and `vsctl config show`: the whole model at once.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::client::Ctx;
use crate::error::Error;
use crate::output;
use crate::pb::config_service_client::ConfigServiceClient;
use crate::pb::{ApplyRequest, ShowRequest};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The desired model, TOML or JSON (by extension, else by content); `-` reads stdin.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print the current model as JSON, the same shape `apply` takes.
    Show,
}

pub async fn apply(ctx: &Ctx, args: ApplyArgs) -> Result<(), Error> {
    let text = read(&args.file)?;
    let request = ApplyRequest {
        format: detect_format(&args.file, &text).to_string(),
        text,
    };
    let mut client = crate::client!(ConfigServiceClient, ctx);
    let reply = client.apply(request).await?.into_inner();
    output::emit(ctx.json, &reply, |r| {
        format!("applied: generation {}", r.generation)
    })
}

pub async fn run(ctx: &Ctx, cmd: ConfigCmd) -> Result<(), Error> {
    let ConfigCmd::Show = cmd;
    let mut client = crate::client!(ConfigServiceClient, ctx);
    let reply = client.show(ShowRequest {}).await?.into_inner();
    // The model is JSON already: printed as received with or without --json, so that
    // `vsctl config show > f.json && vsctl apply -f f.json` round-trips.
    output::print(&reply.json)
}

fn read(path: &Path) -> Result<String, Error> {
    let result = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    };
    // A byte-order mark is not part of the model.
    result
        .map(|text| match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        })
        .map_err(|e| Error::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// `.toml` → toml, `.json` → json (any case); otherwise json if the text starts with `{`.
fn detect_format(path: &Path, text: &str) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("toml") => "toml",
        Some("json") => "json",
        _ if text.trim_start().starts_with('{') => "json",
        _ => "toml",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(detect_format(Path::new("a.toml"), "{"), "toml");
        assert_eq!(detect_format(Path::new("a.JSON"), "[port]"), "json");
        assert_eq!(detect_format(Path::new("dir.json/model.toml"), ""), "toml");
    }

    #[test]
    fn format_without_extension_follows_the_content() {
        assert_eq!(
            detect_format(Path::new("model"), "  \n{\"ports\": []}"),
            "json"
        );
        assert_eq!(detect_format(Path::new("-"), "{}"), "json");
        assert_eq!(
            detect_format(Path::new("model.conf"), "[[port]]\nname = \"p0\""),
            "toml"
        );
        assert_eq!(detect_format(Path::new("model"), ""), "toml");
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let e = read(Path::new("/nonexistent/model.toml")).map(|_| ());
        let message = e.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(
            message.starts_with("cannot read /nonexistent/model.toml: No such file"),
            "{message}"
        );
    }
}
