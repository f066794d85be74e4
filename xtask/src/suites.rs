//! `cargo xtask test`: every suite, each named with its count of tests run.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::server::StaticServer;
use crate::setup::{self, cargo_bin, path_with_cargo_bin};
use crate::workspace_root;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// SwiftShader runs WebGPU on the CPU: a browser test may take minutes, not the default 20 s.
const BROWSER_TEST_TIMEOUT_S: &str = "900";

struct Outcome {
    suite: &'static str,
    passed: u32,
    failed: u32,
    success: bool,
    seconds: f64,
}

pub fn run_all() -> Result<(), String> {
    setup::ensure_test_tools()?;
    let root = workspace_root();
    let mut outcomes = Vec::new();

    let mut native = Command::new("cargo");
    native.args([
        "test",
        "-p",
        "internimage-gpu",
        "-p",
        "internimage-cli",
        "-p",
        "xtask",
    ]);
    outcomes.push(run_suite("native (Vulkan, llvmpipe on the CPU)", native)?);

    let mut chromium = wasm_tests(&[]);
    chromium.env("CHROMEDRIVER", CHROMEDRIVER);
    outcomes.push(run_suite("browser: headless Chromium, WebGPU", chromium)?);

    // Firefox has no WebGPU here: it runs the tests that need none.
    let mut firefox = wasm_tests(&["--test", "reference"]);
    firefox.env("GECKODRIVER", cargo_bin("geckodriver"));
    outcomes.push(run_suite("browser: headless Firefox, GPU-free", firefox)?);

    let dist = setup::build_app()?;
    let server = StaticServer::start(&dist, 0)?;
    let mut e2e = Command::new("node");
    e2e.args(["--test", "--test-reporter=tap", "tests/e2e/"])
        .env("APP_URL", server.url())
        .env("SCREENSHOT_DIR", root.join("target/e2e"));
    let e2e_outcome = run_suite("end to end: the built app in headless Chromium", e2e);
    server.stop();
    outcomes.push(e2e_outcome?);

    println!(
        "\n{:<52} {:>7} {:>7} {:>9}",
        "suite", "passed", "failed", "seconds"
    );
    for o in &outcomes {
        println!(
            "{:<52} {:>7} {:>7} {:>9.1}",
            o.suite, o.passed, o.failed, o.seconds
        );
    }
    let passed: u32 = outcomes.iter().map(|o| o.passed).sum();
    let failed: u32 = outcomes.iter().map(|o| o.failed).sum();
    println!("total: {passed} passed, {failed} failed");
    let broken: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.success)
        .map(|o| o.suite)
        .collect();
    if !broken.is_empty() {
        return Err(format!("failing suites: {}", broken.join("; ")));
    }
    if outcomes.iter().any(|o| o.passed == 0) {
        return Err("a suite ran no test".into());
    }
    Ok(())
}

/// `cargo test` of the engine for wasm32 in a headless browser; the caller picks the driver.
pub fn wasm_tests(filter: &[&str]) -> Command {
    let mut command = Command::new("cargo");
    command
        .args([
            "test",
            "-p",
            "internimage-gpu",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(filter)
        .env("PATH", path_with_cargo_bin())
        .env("WASM_BINDGEN_TEST_TIMEOUT", BROWSER_TEST_TIMEOUT_S)
        // The runner picks the first driver it finds in the environment: leave only one there.
        .env_remove("CHROMEDRIVER")
        .env_remove("GECKODRIVER")
        .env_remove("SAFARIDRIVER");
    command
}

/// Runs one suite, echoing its output and counting the tests that its runners report.
fn run_suite(suite: &'static str, mut command: Command) -> Result<Outcome, String> {
    println!("\n=== {suite}");
    let started = Instant::now();
    let mut child = command
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{suite}: cannot start: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let echo_stderr = std::thread::spawn(move || echo_and_count(stderr, true));
    let (mut passed, mut failed) = echo_and_count(child.stdout.take().expect("piped"), false);
    let (p, f) = echo_stderr.join().unwrap_or_default();
    passed += p;
    failed += f;
    let status = child.wait().map_err(|e| format!("{suite}: {e}"))?;
    Ok(Outcome {
        suite,
        passed,
        failed,
        success: status.success() && failed == 0,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn echo_and_count(stream: impl Read, to_stderr: bool) -> (u32, u32) {
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        if to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
        let (p, f) = counts(&line);
        passed += p;
        failed += f;
    }
    (passed, failed)
}

/// Test counts from a closing line of cargo test, wasm-bindgen-test-runner or node's TAP.
fn counts(line: &str) -> (u32, u32) {
    let number_after = |text: &str, key: &str| -> Option<u32> {
        let at = text.find(key)? + key.len();
        text[at..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())?
            .parse()
            .ok()
    };
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result: ") {
        let passed = rest.split(';').find_map(|p| {
            p.trim()
                .strip_suffix(" passed")?
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        });
        let failed = rest
            .split(';')
            .find_map(|p| p.trim().strip_suffix(" failed")?.parse().ok());
        return (passed.unwrap_or(0), failed.unwrap_or(0));
    }
    if line.starts_with("# pass ") {
        return (number_after(line, "# pass").unwrap_or(0), 0);
    }
    if line.starts_with("# fail ") {
        return (0, number_after(line, "# fail").unwrap_or(0));
    }
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::counts;

    #[test]
    fn reads_each_runner_closing_line() {
        assert_eq!(
            counts(
                "test result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"
            ),
            (5, 0)
        );
        assert_eq!(
            counts("test result: FAILED. 2 passed; 1 failed; 0 ignored"),
            (2, 1)
        );
        assert_eq!(counts("# pass 4"), (4, 0));
        assert_eq!(counts("# fail 2"), (0, 2));
        assert_eq!(counts("running 3 tests"), (0, 0));
    }
}
