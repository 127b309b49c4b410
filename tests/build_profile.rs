//! The rustc wrapper every build of this package goes through (`pgo/rustc`,
//! named by .cargo/config.toml): which builds get the committed profile, which are left alone,
//! and what happens when the profile is missing. A stand-in rustc, placed where the wrapper
//! looks for the toolchain's (beside `$CARGO`), prints the arguments it was given.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory with a fake `cargo` path and a `rustc` beside it that prints its arguments one
/// per line.
fn fake_toolchain() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let rustc = dir.path().join("rustc");
    std::fs::write(&rustc, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n").expect("write");
    make_executable(&rustc);
    dir
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path).expect("metadata").permissions();
    permissions.set_mode(0o755);
    std::fs::set_permissions(path, permissions).expect("chmod");
}

fn wrap(toolchain: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(repository().join("pgo/rustc"));
    command
        .args(args)
        .env("CARGO", toolchain.join("cargo"))
        .env_remove("DIALER_PGO_GENERATE")
        .env_remove("DIALER_PGO_PROFILE");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run the wrapper")
}

fn passed_args(output: &Output) -> Vec<String> {
    assert!(
        output.status.success(),
        "wrapper failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn committed_profile() -> String {
    format!(
        "-Cprofile-use={}",
        repository().join("pgo/dialer.profdata").display()
    )
}

/// The layout passes that go with a profile (they do nothing without one).
const LAYOUT_PASSES: [&str; 2] = [
    "-Cllvm-args=-enable-split-machine-functions",
    "-Cllvm-args=-enable-ext-tsp-block-placement=true",
];

fn with_profile(args: &[&str], profile: &str) -> Vec<String> {
    let mut expected: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    expected.push(profile.to_owned());
    expected.extend(LAYOUT_PASSES.iter().map(|a| a.to_string()));
    expected
}

#[test]
fn the_committed_profile_exists() {
    let profile = repository().join("pgo/dialer.profdata");
    let bytes = std::fs::metadata(&profile).expect("pgo/dialer.profdata is committed");
    assert!(bytes.len() > 0, "{} is empty", profile.display());
}

#[test]
fn a_fully_optimised_build_gets_the_committed_profile() {
    let toolchain = fake_toolchain();
    let base = ["--crate-name", "dialer", "src/lib.rs"];
    for optimisation in [&["-C", "opt-level=3"][..], &["-Copt-level=3"][..]] {
        let args: Vec<&str> = base.iter().chain(optimisation).copied().collect();
        let passed = passed_args(&wrap(toolchain.path(), &args, &[]));
        assert_eq!(
            passed,
            with_profile(&args, &committed_profile()),
            "for {optimisation:?}"
        );
    }
}

#[test]
fn other_builds_are_passed_through_unchanged() {
    let toolchain = fake_toolchain();
    let cases: [&[&str]; 5] = [
        &["--crate-name", "dialer", "-C", "opt-level=1", "src/lib.rs"],
        &["--crate-name", "build_script_build", "build.rs"],
        // Unchanged, or cargo's symbol names, and with them the profile's match, change.
        &["-vV"],
        &["-", "--print=sysroot", "--crate-type", "bin"],
        // A build that already names a profile (scripts/pgo-build, or the user's RUSTFLAGS).
        &[
            "-C",
            "opt-level=3",
            "-Cprofile-generate=/tmp/profiles",
            "src/lib.rs",
        ],
    ];
    for args in cases {
        let passed = passed_args(&wrap(toolchain.path(), args, &[]));
        assert_eq!(passed, args, "changed {args:?}");
    }
    let args = ["-C", "opt-level=3", "-C", "profile-use=/elsewhere.profdata"];
    assert_eq!(passed_args(&wrap(toolchain.path(), &args, &[])), args);
}

#[test]
fn the_environment_chooses_instrumentation_or_another_profile() {
    let toolchain = fake_toolchain();
    let args = ["-C", "opt-level=3", "src/lib.rs"];
    let passed = passed_args(&wrap(
        toolchain.path(),
        &args,
        &[("DIALER_PGO_GENERATE", "/tmp/raw-profiles")],
    ));
    assert_eq!(
        passed.last().unwrap(),
        "-Cprofile-generate=/tmp/raw-profiles"
    );
    assert_eq!(passed.len(), args.len() + 1);

    let other = toolchain.path().join("other.profdata");
    std::fs::write(&other, b"profile").expect("write");
    let other = other.display().to_string();
    let passed = passed_args(&wrap(
        toolchain.path(),
        &args,
        &[("DIALER_PGO_PROFILE", &other)],
    ));
    assert_eq!(
        passed,
        with_profile(&args, &format!("-Cprofile-use={other}"))
    );
}

#[test]
fn a_missing_profile_stops_the_build_and_says_how_to_restore_it() {
    let toolchain = fake_toolchain();
    let missing = toolchain.path().join("missing.profdata");
    let output = wrap(
        toolchain.path(),
        &["-C", "opt-level=3", "src/lib.rs"],
        &[("DIALER_PGO_PROFILE", &missing.display().to_string())],
    );
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "rustc must not run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&missing.display().to_string()) && stderr.contains("scripts/pgo-build"),
        "stderr: {stderr}"
    );
}
