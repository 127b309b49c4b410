//! The rustc wrapper every build of this package goes through (`pgo/rustc`,
//! named by .cargo/config.toml): which builds get the committed profile, which are left alone,
//! what happens when the profile is missing, and the warning for a build of the package's own
//! crates that the profile was not made from (`pgo/dialer.crates`). A stand-in rustc, placed
//! where the wrapper looks for the toolchain's (beside `$CARGO`), prints the arguments it was
//! given.

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

/// The layout passes that go with a profile, and where the profile's hot code ends (they do
/// nothing without one).
const LAYOUT_PASSES: [&str; 3] = [
    "-Cllvm-args=-enable-split-machine-functions",
    "-Cllvm-args=-enable-ext-tsp-block-placement=true",
    "-Cllvm-args=-profile-summary-cutoff-hot=999900",
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
    let raw = toolchain.path().join("raw-profiles").display().to_string();
    let passed = passed_args(&wrap(
        toolchain.path(),
        &args,
        &[("DIALER_PGO_GENERATE", &raw)],
    ));
    assert_eq!(passed.last().unwrap(), &format!("-Cprofile-generate={raw}"));
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

/// The arguments cargo gives rustc for one of the package's crates (its source named relative
/// to the workspace) or a dependency's (named by an absolute path).
fn crate_build(crate_name: &str, metadata: &str, source: &str) -> Vec<String> {
    [
        "--crate-name",
        crate_name,
        "--edition=2024",
        source,
        "-C",
        "opt-level=3",
        "-C",
        &format!("metadata={metadata}"),
        "-C",
        "extra-filename=-0123456789abcdef",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

#[test]
fn the_instrumented_build_lists_the_package_crates_it_was_made_from() {
    let toolchain = fake_toolchain();
    let raw = toolchain.path().join("profiles");
    let raw_text = raw.display().to_string();
    let builds = [
        crate_build("dialer", "aaaa", "src/lib.rs"),
        crate_build("dialer", "bbbb", "src/main.rs"),
        crate_build("sim_throughput", "cccc", "benches/sim_throughput.rs"),
        // A dependency: not the package's, so not listed.
        crate_build("tokio", "dddd", "/registry/tokio-1.54.1/src/lib.rs"),
    ];
    for args in &builds {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let passed = passed_args(&wrap(
            toolchain.path(),
            &args,
            &[("DIALER_PGO_GENERATE", &raw_text)],
        ));
        assert_eq!(
            passed.last().unwrap(),
            &format!("-Cprofile-generate={raw_text}")
        );
    }
    let listed = std::fs::read_to_string(toolchain.path().join("profiles.crates"))
        .expect("the list of crates is written beside the raw profiles");
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["dialer aaaa", "dialer bbbb", "sim_throughput cccc"]
    );
}

#[test]
fn a_build_the_profile_was_not_made_from_is_warned_about_and_still_built() {
    let toolchain = fake_toolchain();
    let profile = toolchain.path().join("made.profdata");
    std::fs::write(&profile, b"profile").expect("write");
    std::fs::write(
        toolchain.path().join("made.crates"),
        "dialer aaaa\ndialer bbbb\nsim_throughput cccc\n",
    )
    .expect("write");
    let profile = profile.display().to_string();
    let env = [("DIALER_PGO_PROFILE", profile.as_str())];
    let run_quieted = |args: &[String], quiet: bool| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = wrap(toolchain.path(), &args, &env);
        let passed = passed_args(&output);
        let use_profile = format!("-Cprofile-use={profile}");
        let mut expected = with_profile(&args, &use_profile);
        if quiet {
            let at = expected
                .iter()
                .position(|a| *a == use_profile)
                .expect("given")
                + 1;
            expected.insert(at, "-Cllvm-args=-no-pgo-warn-mismatch".to_string());
        }
        assert_eq!(passed, expected, "the profile is still given");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let run = |args: &[String]| run_quieted(args, false);

    // Builds it was made from, a crate it never saw (an untrained bench: LLVM is asked not to
    // warn about its functions that share a name with the binary's) and a dependency.
    for (args, quiet) in [
        (crate_build("dialer", "aaaa", "src/lib.rs"), false),
        (crate_build("dialer", "bbbb", "src/main.rs"), false),
        (
            crate_build(
                "journal_throughput",
                "eeee",
                "benches/journal_throughput.rs",
            ),
            true,
        ),
        (
            crate_build("tokio", "ffff", "/registry/tokio-1.54.1/src/lib.rs"),
            false,
        ),
    ] {
        let stderr = run_quieted(&args, quiet);
        assert!(stderr.is_empty(), "no warning for {args:?}: {stderr}");
    }

    // Another rustc or other settings: the crate's -C metadata, and so its symbol names, differ.
    let stderr = run(&crate_build("dialer", "9999", "src/lib.rs"));
    assert!(
        stderr.starts_with("warning: ")
            && stderr.contains("`dialer`")
            && stderr.contains("9999")
            && stderr.contains("will not apply")
            && stderr.contains("scripts/pgo-build"),
        "stderr: {stderr}"
    );
}

#[test]
fn the_committed_list_of_builds_is_beside_the_profile_a_crate_and_its_metadata_a_line() {
    let listed = std::fs::read_to_string(repository().join("pgo/dialer.crates"))
        .expect("pgo/dialer.crates is committed beside the profile");
    let mut names: Vec<&str> = listed
        .lines()
        .map(|line| {
            let (name, metadata) = line.split_once(' ').expect("`crate metadata` per line");
            assert!(
                !metadata.is_empty() && metadata.chars().all(|c| c.is_ascii_hexdigit()),
                "line {line:?}"
            );
            name
        })
        .collect();
    names.dedup();
    assert_eq!(names, ["dialer", "sim_throughput"]);
}
