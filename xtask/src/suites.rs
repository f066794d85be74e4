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

/// What a suite's runners reported: every test that did not pass counts against it, and so
/// does a suite that ran fewer tests than it states it has.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counts {
    passed: u32,
    failed: u32,
    /// Ignored, skipped, cancelled or to-do: tests that exist and did not run.
    not_run: u32,
    /// Test binaries whose runner found nothing to run ("no tests to run!").
    empty_runs: u32,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.not_run += other.not_run;
        self.empty_runs += other.empty_runs;
    }
}

struct Outcome {
    suite: &'static str,
    counts: Counts,
    minimum: u32,
    exit_ok: bool,
    seconds: f64,
}

impl Outcome {
    /// Why the suite fails, or None when it passes.
    fn problems(&self) -> Vec<String> {
        let c = &self.counts;
        let mut problems = Vec::new();
        if !self.exit_ok {
            problems.push("its runner exited with an error".to_owned());
        }
        if c.failed > 0 {
            problems.push(format!("{} failed", c.failed));
        }
        if c.not_run > 0 {
            problems.push(format!("{} ignored, skipped or cancelled", c.not_run));
        }
        if c.empty_runs > 0 {
            problems.push(format!("{} test binaries ran no test", c.empty_runs));
        }
        if c.passed < self.minimum {
            problems.push(format!(
                "{} passed, fewer than the {} it must run",
                c.passed, self.minimum
            ));
        }
        problems
    }
}

/// The least number of tests each suite must pass: a suite that shrinks fails. Raise them as
/// tests are added.
const NATIVE_MINIMUM: u32 = 106;
const CHROMIUM_MINIMUM: u32 = 46;
const FIREFOX_MINIMUM: u32 = 17;
const END_TO_END_MINIMUM: u32 = 28;

/// The engine's test files (`gpu/tests/`) that run in Chromium; the GPU-free ones also run in
/// Firefox. Named one by one so that no browser run ends in "no tests to run!": the library's
/// own unit tests and the files below are native only.
const BROWSER_TESTS: &[&str] = &["dcnv3", "demo", "model", "ops", "preprocess", "reference"];
const GPU_FREE_TESTS: &[&str] = &["preprocess", "reference"];
/// naga's validation of every shader: named for the unit test that holds every file of `gpu/tests/` to one of these lists.
#[cfg(test)]
const NATIVE_ONLY_TESTS: &[&str] = &["shaders"];

/// The engine's package, whose tests the browsers run.
const ENGINE: &str = "internimage-gpu";
/// The bench's package: its arithmetic probe is checked in Chromium too.
const BENCH: &str = "internimage-bench";
const BENCH_BROWSER_TESTS: &[&str] = &["peak"];
/// The converter's package: the page's worker runs it, so both browsers check it.
const CONVERTER: &str = "internimage-convert";
const CONVERTER_BROWSER_TESTS: &[&str] = &["checkpoints"];

/// `--test NAME` for each name.
fn test_targets(names: &[&'static str]) -> Vec<&'static str> {
    names.iter().flat_map(|name| ["--test", *name]).collect()
}

/// One suite, for `cargo xtask test SUITE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    Native,
    Chromium,
    Firefox,
    #[value(name = "e2e")]
    EndToEnd,
}

/// Runs every suite, or only `only`.
pub fn run_all(only: Option<Suite>, e2e_files: &[String]) -> Result<(), String> {
    setup::ensure_test_tools()?;
    let root = workspace_root();
    let wanted = |suite: Suite| only.is_none_or(|o| o == suite);
    let mut outcomes = Vec::new();

    if wanted(Suite::Native) {
        let mut native = Command::new("cargo");
        // Every crate of the workspace; the app's own tests are those that need no browser.
        // --no-fail-fast: every failing binary is reported, not only the first.
        native.args(["test", "--workspace", "--no-fail-fast"]);
        outcomes.push(run_suite(
            "native (Vulkan, llvmpipe on the CPU)",
            NATIVE_MINIMUM,
            native,
        )?);
    }

    if wanted(Suite::Chromium) {
        let targets = test_targets(BROWSER_TESTS);
        let targets = [
            targets,
            test_targets(BENCH_BROWSER_TESTS),
            test_targets(CONVERTER_BROWSER_TESTS),
        ]
        .concat();
        let mut chromium = wasm_tests(&[ENGINE, BENCH, CONVERTER], &targets);
        chromium.env("CHROMEDRIVER", CHROMEDRIVER);
        outcomes.push(run_suite(
            "browser: headless Chromium, WebGPU",
            CHROMIUM_MINIMUM,
            chromium,
        )?);
    }

    if wanted(Suite::Firefox) {
        // Firefox has no WebGPU here: it runs the tests that need none.
        let targets = [
            test_targets(GPU_FREE_TESTS),
            test_targets(CONVERTER_BROWSER_TESTS),
        ]
        .concat();
        let mut firefox = wasm_tests(&[ENGINE, CONVERTER], &targets);
        firefox.env("GECKODRIVER", cargo_bin("geckodriver"));
        outcomes.push(run_suite(
            "browser: headless Firefox, GPU-free",
            FIREFOX_MINIMUM,
            firefox,
        )?);
    }

    if wanted(Suite::EndToEnd) {
        outcomes.push(run_end_to_end(&root, e2e_files)?);
    }
    summarise(&outcomes)
}

/// The built app served from loopback, driven in headless Chromium by node's test runner.
fn run_end_to_end(root: &std::path::Path, files: &[String]) -> Result<Outcome, String> {
    let dist = setup::build_app()?;
    let other_model = write_other_model(&root.join("target/e2e"))?;
    let expected = root.join("target/e2e/internimage-t-expected.json");
    crate::e2e::prepare(&dist, &expected)?;
    let faulty_host = crate::e2e::start_faulty_host(dist.join(crate::e2e::SERVED))?;
    let server = StaticServer::start(&dist, 0)?;
    let mut e2e = Command::new("node");
    e2e.args(["--test", "--test-reporter=tap"]);
    if files.is_empty() {
        e2e.arg("tests/e2e/");
    } else {
        e2e.args(files.iter().map(|f| format!("tests/e2e/{f}")));
    }
    e2e.env("APP_URL", server.url())
        .env("OTHER_MODEL", &other_model)
        .env(
            "CHECKPOINTS",
            format!("{}{}/", server.url(), crate::e2e::SERVED),
        )
        .env("FAULTY_HOST", faulty_host)
        .env("INTERNIMAGE_T_EXPECTED", &expected)
        .env("SCREENSHOT_DIR", root.join("target/e2e"));
    let minimum = if files.is_empty() {
        END_TO_END_MINIMUM
    } else {
        1
    };
    let outcome = run_suite(
        "end to end: the built app in headless Chromium",
        minimum,
        e2e,
    );
    server.stop();
    outcome
}

/// A second model for the end-to-end tests to switch to: the tiny variant with seeded weights
/// and labels of its own, so that a switch shows in the predictions.
fn write_other_model(dir: &std::path::Path) -> Result<std::path::PathBuf, String> {
    use gpu::model::ModelConfig;
    use gpu::model::weights::{SeededWeights, StoredAs, to_safetensors_as};
    let config = ModelConfig::test_tiny();
    let labels: Vec<String> = (0..config.num_classes)
        .map(|i| format!("seeded class {i}"))
        .collect();
    let bytes = to_safetensors_as(
        &config,
        &SeededWeights::new(&config, 7),
        Some(&labels),
        Some("The tiny test variant with seeded random weights (seed 7)"),
        StoredAs::Int8 {
            keep_offset_and_mask: true,
        },
    )
    .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("tiny-seeded.safetensors");
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The table of suites, then the verdict: every problem of every suite is named.
fn summarise(outcomes: &[Outcome]) -> Result<(), String> {
    println!(
        "\n{:<48} {:>7} {:>7} {:>8} {:>8} {:>8}",
        "suite", "passed", "minimum", "failed", "not run", "seconds"
    );
    let mut total = Counts::default();
    for o in outcomes {
        let c = &o.counts;
        println!(
            "{:<48} {:>7} {:>7} {:>8} {:>8} {:>8.1}",
            o.suite,
            c.passed,
            o.minimum,
            c.failed,
            c.not_run + c.empty_runs,
            o.seconds
        );
        total += *c;
    }
    let broken: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            let problems = o.problems();
            (!problems.is_empty()).then(|| format!("{}: {}", o.suite, problems.join(", ")))
        })
        .collect();
    // The plain closing line, counting every test that did not pass as failed.
    println!(
        "total: {} passed, {} failed",
        total.passed,
        total.failed + total.not_run + total.empty_runs
    );
    if broken.is_empty() {
        Ok(())
    } else {
        for line in &broken {
            println!("FAILED {line}");
        }
        Err(format!("failing suites: {}", broken.join("; ")))
    }
}

/// `cargo test` of `packages` for wasm32 in a headless browser; the caller picks the driver.
pub fn wasm_tests(packages: &[&str], filter: &[&str]) -> Command {
    let mut command = Command::new("cargo");
    command
        .args([
            "test",
            "--no-fail-fast",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(packages.iter().flat_map(|package| ["-p", package]))
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
fn run_suite(suite: &'static str, minimum: u32, mut command: Command) -> Result<Outcome, String> {
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
    let mut counts = echo_and_count(child.stdout.take().expect("piped"), false);
    counts += echo_stderr.join().unwrap_or_default();
    let status = child.wait().map_err(|e| format!("{suite}: {e}"))?;
    Ok(Outcome {
        suite,
        counts,
        minimum,
        exit_ok: status.success(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn echo_and_count(stream: impl Read, to_stderr: bool) -> Counts {
    let mut total = Counts::default();
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        if to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
        total += counts(&line);
    }
    total
}

/// Test counts from a closing line of cargo test, wasm-bindgen-test-runner or node's TAP.
fn counts(line: &str) -> Counts {
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
        // "ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ..."
        let field = |name: &str| {
            rest.split(';')
                .find_map(|p| {
                    p.trim()
                        .strip_suffix(name)?
                        .rsplit(' ')
                        .next()?
                        .parse()
                        .ok()
                })
                .unwrap_or(0)
        };
        return Counts {
            passed: field(" passed"),
            failed: field(" failed"),
            not_run: field(" ignored"),
            empty_runs: 0,
        };
    }
    // wasm-bindgen-test-runner, for a binary with nothing to run.
    if line == "no tests to run!" {
        return Counts {
            empty_runs: 1,
            ..Counts::default()
        };
    }
    // node's TAP closing comments.
    let tap = |key: &str| {
        line.strip_prefix(key)
            .filter(|rest| rest.starts_with(' '))
            .and_then(|_| number_after(line, key))
            .unwrap_or(0)
    };
    Counts {
        passed: tap("# pass"),
        failed: tap("# fail"),
        not_run: tap("# skipped") + tap("# cancelled") + tap("# todo"),
        empty_runs: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::{BROWSER_TESTS, Counts, GPU_FREE_TESTS, NATIVE_ONLY_TESTS, Outcome, counts};

    #[test]
    fn every_engine_test_file_is_placed_in_a_browser_or_marked_native_only() {
        let dir = crate::workspace_root().join("gpu/tests");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                Some(name.strip_suffix(".rs")?.to_owned())
            })
            .collect();
        files.sort();
        let mut placed: Vec<String> = BROWSER_TESTS
            .iter()
            .chain(NATIVE_ONLY_TESTS)
            .map(|s| s.to_string())
            .collect();
        placed.sort();
        assert_eq!(
            files, placed,
            "add the new test file to BROWSER_TESTS or NATIVE_ONLY_TESTS"
        );
        assert!(GPU_FREE_TESTS.iter().all(|t| BROWSER_TESTS.contains(t)));
    }

    fn c(passed: u32, failed: u32, not_run: u32, empty_runs: u32) -> Counts {
        Counts {
            passed,
            failed,
            not_run,
            empty_runs,
        }
    }

    #[test]
    fn reads_each_runner_closing_line() {
        assert_eq!(
            counts(
                "test result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"
            ),
            c(5, 0, 0, 0)
        );
        assert_eq!(
            counts("test result: FAILED. 2 passed; 1 failed; 3 ignored"),
            c(2, 1, 3, 0)
        );
        assert_eq!(counts("no tests to run!"), c(0, 0, 0, 1));
        assert_eq!(counts("# pass 4"), c(4, 0, 0, 0));
        assert_eq!(counts("# fail 2"), c(0, 2, 0, 0));
        assert_eq!(counts("# skipped 1"), c(0, 0, 1, 0));
        assert_eq!(counts("# cancelled 2"), c(0, 0, 2, 0));
        assert_eq!(counts("# todo 1"), c(0, 0, 1, 0));
        assert_eq!(counts("# passed the test"), c(0, 0, 0, 0));
        assert_eq!(counts("running 3 tests"), c(0, 0, 0, 0));
    }

    #[test]
    fn a_suite_fails_below_its_minimum_or_with_any_test_not_run() {
        let outcome = |counts: Counts| Outcome {
            suite: "s",
            counts,
            minimum: 25,
            exit_ok: true,
            seconds: 0.0,
        };
        assert!(outcome(c(25, 0, 0, 0)).problems().is_empty());
        assert_eq!(
            outcome(c(1, 0, 0, 0)).problems(),
            ["1 passed, fewer than the 25 it must run"]
        );
        assert_eq!(
            outcome(c(25, 0, 1, 0)).problems(),
            ["1 ignored, skipped or cancelled"]
        );
        assert_eq!(
            outcome(c(25, 0, 0, 1)).problems(),
            ["1 test binaries ran no test"]
        );
        let mut crashed = outcome(c(30, 0, 0, 0));
        crashed.exit_ok = false;
        assert_eq!(crashed.problems(), ["its runner exited with an error"]);
    }
}
