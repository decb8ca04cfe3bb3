//! The vault through the CLI: round trips, refusals, and proof that no secret value
//! reaches the store file, a log file, or the terminal.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Home, contains_bytes, files_under};

const VALUE: &str = "s3cr3t-canary-value-41f2";
const ROTATED: &str = "s3cr3t-canary-value-second";

#[test]
fn set_list_rm_rotate_round_trip_and_no_value_anywhere() {
    let home = Home::new();
    let mut terminal = Vec::new();
    let mut run = |args: &[&str], stdin: Option<&str>| {
        let mut command = home.patchbay();
        command.args(args);
        if let Some(input) = stdin {
            command.write_stdin(input);
        }
        let output = command.output().unwrap();
        terminal.extend_from_slice(&output.stdout);
        terminal.extend_from_slice(&output.stderr);
        output
    };

    assert!(
        run(
            &["secret", "set", "api_token", "--expires", "2027-01-31"],
            Some(&format!("{VALUE}\n"))
        )
        .status
        .success()
    );
    assert!(
        run(&["secret", "set", "other"], Some(ROTATED))
            .status
            .success()
    );
    let listed = run(&["secret", "list", "--json"], None);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["name"], "api_token");
    assert_eq!(lines[0]["meta"]["expires_at"], "2027-01-31");

    let rotation = run(&["secret", "rotate-key"], None);
    assert!(
        rotation.status.success(),
        "{}",
        String::from_utf8_lossy(&rotation.stderr)
    );
    let backups: Vec<_> = files_under(&home.path("config/patchbay"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::metadata(&backups[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );

    assert!(run(&["secret", "rm", "other"], None).status.success());
    let missing = run(&["secret", "rm", "other"], None);
    assert_eq!(missing.status.code(), Some(1));
    let listed = run(&["secret", "list"], None);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("api_token") && !text.contains("other"),
        "{text}"
    );

    let mut inspected = vec![home.store_file()];
    inspected.extend(files_under(&home.log_dir()));
    assert!(
        inspected.len() >= 2,
        "the store and at least one log file: {inspected:?}"
    );
    for file in inspected {
        let bytes = std::fs::read(&file).unwrap();
        for secret in [VALUE, ROTATED] {
            assert!(
                !contains_bytes(&bytes, secret),
                "{} holds a secret value",
                file.display()
            );
        }
    }
    for secret in [VALUE, ROTATED] {
        assert!(
            !contains_bytes(&terminal, secret),
            "the terminal showed a secret value"
        );
    }
}

#[test]
fn an_identity_readable_by_others_is_refused_with_the_fix() {
    let home = Home::new();
    home.patchbay()
        .args(["secret", "set", "a"])
        .write_stdin("value-aaaa")
        .assert()
        .success();
    let identity = home.identity_file();
    std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = home
        .patchbay()
        .args(["secret", "rotate-key"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("chmod 600 {}", identity.display())),
        "{stderr}"
    );
}

#[test]
fn a_protected_identity_needs_the_right_passphrase() {
    let home = Home::new();
    home.patchbay()
        .args(["secret", "set", "a"])
        .write_stdin("value-aaaa")
        .assert()
        .success();
    home.patchbay()
        .args(["secret", "protect"])
        .env("PATCHBAY_PASSPHRASE", "correct horse battery")
        .assert()
        .success();
    let output = home
        .patchbay()
        .args(["secret", "rotate-key"])
        .env("PATCHBAY_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("wrong passphrase"));
    home.patchbay()
        .args(["secret", "rotate-key"])
        .env("PATCHBAY_PASSPHRASE", "correct horse battery")
        .assert()
        .success();
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_kept() {
    let home = Home::new();
    std::fs::create_dir_all(home.data_dir()).unwrap();
    std::fs::write(home.store_file(), "not a database\n".repeat(100)).unwrap();
    let output = home.patchbay().args(["secret", "list"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a patchbay store"));
    assert_eq!(
        std::fs::read_to_string(home.store_file()).unwrap(),
        "not a database\n".repeat(100)
    );
}

#[test]
fn read_only_mode_refuses_every_changing_action() {
    let home = Home::new();
    std::fs::write(
        home.path("connectors.toml"),
        "[[integration]]\nname = \"items\"\nkind = \"http\"\nevery = \"1h\"\n[integration.request]\nurl = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    let stored = home
        .patchbay()
        .args(["secret", "set", "kept"])
        .write_stdin("value-kept-0001")
        .output()
        .unwrap();
    assert!(stored.status.success());
    let actions: &[&[&str]] = &[
        &["run", "items"],
        &["auth", "items"],
        &["alert", "silence", "items", "--for", "1h", "--reason", "x"],
        &["alert", "unsilence", "items"],
        &["secret", "set", "a"],
        &["secret", "rm", "kept"],
        &["secret", "rotate-key"],
        &["secret", "protect"],
    ];
    for action in actions {
        let output = home
            .patchbay()
            .arg("--read-only")
            .args(*action)
            .write_stdin("value-aaaa")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{action:?}: {stderr}");
        assert!(stderr.contains("read-only"), "{action:?}: {stderr}");
    }
    let listed = home.patchbay().args(["secret", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("kept") && !listed.contains(" a "),
        "{listed}"
    );
    let history = home
        .patchbay()
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert!(history.stdout.is_empty(), "nothing ran");
}

/// The data and log dirs hold history, error texts and ciphertexts: created for the
/// owner only, the store file too.
#[test]
fn a_fresh_home_is_created_private() {
    let home = Home::new();
    let set = home
        .patchbay()
        .args(["secret", "set", "token"])
        .write_stdin("value-private-01")
        .output()
        .unwrap();
    assert!(set.status.success());
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home.data_dir()), 0o700);
    assert_eq!(mode(&home.store_file()), 0o600);
    assert_eq!(mode(&home.log_dir()), 0o700);
}
