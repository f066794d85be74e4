//! Installs what the commands need on a fresh Debian machine, only when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace_root;

pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
pub const TRUNK_VERSION: &str = "0.21.14";
pub const GECKODRIVER_VERSION: &str = "0.37.1";
const APT_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
    (
        "mesa-vulkan-drivers",
        "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json",
    ),
    ("firefox-esr", "/usr/bin/firefox-esr"),
    ("nodejs", "/usr/bin/node"),
    ("npm", "/usr/bin/npm"),
];

/// Runs `program args` in `dir`, failing with the command line when it fails.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// The first line `program --version` prints, or None when it does not run.
fn version_of(program: &str) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    })
}

pub fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

fn cargo_install(krate: &str, version: &str, binary: &str, locked: bool) -> Result<(), String> {
    let installed = version_of(cargo_bin(binary).to_str().unwrap_or(binary));
    if installed.is_some_and(|v| v.contains(version)) {
        return Ok(());
    }
    println!("xtask: installing {krate} {version} (a few minutes, once)");
    let mut args = vec!["install", krate, "--version", version, "--force"];
    if locked {
        args.push("--locked");
    }
    run(&workspace_root(), "cargo", &args)
}

/// The wasm target, wasm-bindgen-cli (the exact version the app pins) and trunk.
pub fn ensure_build_tools() -> Result<(), String> {
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed: {e}"))?;
    if !String::from_utf8_lossy(&targets.stdout).contains("wasm32-unknown-unknown") {
        run(
            &workspace_root(),
            "rustup",
            &["target", "add", "wasm32-unknown-unknown"],
        )?;
    }
    // wasm-bindgen-cli does not build with --locked on this toolchain; trunk 0.21 only does.
    cargo_install(
        "wasm-bindgen-cli",
        WASM_BINDGEN_VERSION,
        "wasm-bindgen",
        false,
    )?;
    cargo_install("trunk", TRUNK_VERSION, "trunk", true)
}

/// Everything the test suites need: the build tools, browsers, drivers, Vulkan on the CPU, node.
pub fn ensure_test_tools() -> Result<(), String> {
    ensure_build_tools()?;
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(_, path)| !Path::new(path).exists())
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        let command = format!("apt-get install -y {}", missing.join(" "));
        if !is_root() {
            return Err(format!(
                "missing packages; run as root: apt-get update && {command}"
            ));
        }
        println!("xtask: installing {}", missing.join(", "));
        run(Path::new("/"), "apt-get", &["update", "-q"])?;
        let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
        args.extend(&missing);
        run(Path::new("/"), "apt-get", &args)?;
    }
    cargo_install("geckodriver", GECKODRIVER_VERSION, "geckodriver", true)?;
    let e2e = workspace_root().join("tests/e2e");
    let installed = ["playwright-core", "axe-core"]
        .iter()
        .all(|package| e2e.join("node_modules").join(package).exists());
    if !installed {
        run(&e2e, "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Writes the catalog of models, builds the app with trunk (release) into `dist/` and returns
/// that folder.
pub fn build_app() -> Result<PathBuf, String> {
    crate::catalog::write()?;
    let root = workspace_root();
    let trunk = cargo_bin("trunk");
    let status = Command::new(&trunk)
        .args(["build", "--release"])
        .current_dir(&root)
        // Trunk looks for wasm-bindgen on PATH; make sure cargo's bin folder is on it.
        .env("PATH", path_with_cargo_bin())
        .status()
        .map_err(|e| format!("cannot start {}: {e}", trunk.display()))?;
    if !status.success() {
        return Err(format!("trunk build failed ({status})"));
    }
    Ok(root.join("dist"))
}

pub fn path_with_cargo_bin() -> std::ffi::OsString {
    let bin = cargo_bin("");
    let mut paths = vec![bin];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}
