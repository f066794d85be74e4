//! `cargo xtask serve | test | bench`: the two README commands and the benchmarks.

mod bench;
mod catalog;
mod demo_report;
mod e2e;
mod quant_report;
mod server;
mod setup;
mod suites;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build, serve, test and benchmark the InternImage WebGPU explorer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing, build the app and serve it on localhost.
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Official checkpoints (.pth, or the Hub's model.safetensors) to convert to int8 into
        /// public/weights/ before serving, where the page offers them beside the demo model.
        #[arg(long)]
        weights: Vec<PathBuf>,
    },
    /// Install what is missing, then run every suite: native, browsers, end to end.
    Test {
        /// Only this suite (held to its minimum all the same).
        #[arg(value_enum)]
        suite: Option<suites::Suite>,
        /// End to end only: run these files of tests/e2e/ (e.g. install.test.mjs), not held
        /// to the suite's minimum.
        #[arg(long, requires = "suite")]
        only: Vec<String>,
    },
    /// int8 against f32 weights on the sample photographs (seeded InternImage-T by default).
    QuantReport {
        /// An f32 or f16 safetensors file (e.g. the converted official checkpoint) instead.
        #[arg(long)]
        weights: Option<PathBuf>,
    },
    /// The demo model's held-out accuracy and learned offsets, through the engine.
    DemoReport {
        #[arg(long, default_value = catalog::DEMO_MODEL)]
        weights: PathBuf,
        /// Written by `python3 tools/train_demo.py held-out`.
        #[arg(long, default_value = "target/demo/held-out.safetensors")]
        held_out: PathBuf,
        /// At most this many images.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Time kernels on the native adapter.
    Bench {
        #[arg(value_enum, default_value_t = bench::Target::Dcnv3)]
        target: bench::Target,
        /// Timed runs per shape, after warm-up.
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// `model` only: also run it in headless Chromium (WebGPU) and report both.
        #[arg(long)]
        browser: bool,
        /// `model` only: where the JSON report goes.
        #[arg(long, default_value = "target/bench/model.json")]
        json: PathBuf,
        /// `model` only: measure this many times over and report the spread of the goals'
        /// figures (a neighbour's load moves a single measurement by 5-10 %).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
    },
}

/// The workspace root: xtask lives one level below it.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve { port, weights } => serve(port, &weights),
        Command::Test { suite, only } => suites::run_all(suite, &only),
        Command::QuantReport { weights } => quant_report::run(weights.as_deref()),
        Command::DemoReport {
            weights,
            held_out,
            limit,
        } => demo_report::run(&weights, &held_out, limit),
        Command::Bench {
            target,
            runs,
            browser,
            json,
            repeat,
        } => bench::run(target, runs, browser, &json, repeat as usize),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(port: u16, checkpoints: &[PathBuf]) -> Result<(), String> {
    for checkpoint in checkpoints {
        catalog::convert_into_user_weights(checkpoint)?;
    }
    setup::ensure_build_tools()?;
    let dist = setup::build_app()?;
    let server = server::StaticServer::start(&dist, port)?;
    println!("Serving the app at {}  (Ctrl-C stops it)", server.url());
    server.join();
    Ok(())
}
