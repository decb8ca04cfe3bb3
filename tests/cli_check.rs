//! `patchbay check` against the shipped config and against each kind of bad input.

mod common;

use common::{Home, repo_file};
use serde_json::Value;

struct Expected {
    fixture: &'static str,
    message: &'static str,
    line: u64,
    column: u64,
}

const BAD_CONFIGS: &[Expected] = &[
    Expected {
        fixture: "malformed.toml",
        message: "invalid TOML",
        line: 4,
        column: 13,
    },
    Expected {
        fixture: "duplicate_name.toml",
        message: "duplicate integration name `archive`",
        line: 7,
        column: 8,
    },
    Expected {
        fixture: "unknown_kind.toml",
        message: "unknown kind `htpp`",
        line: 3,
        column: 8,
    },
    Expected {
        fixture: "unknown_key.toml",
        message: "unknown key `rotate_byte`",
        line: 5,
        column: 1,
    },
    Expected {
        fixture: "invalid_cron.toml",
        message: "hour field: 25 is out of range 0-23",
        line: 4,
        column: 8,
    },
    Expected {
        fixture: "zero_interval.toml",
        message: "`every` must be longer than zero",
        line: 4,
        column: 9,
    },
    Expected {
        fixture: "unknown_output.toml",
        message: "output `archve` is not an integration",
        line: 5,
        column: 12,
    },
    Expected {
        fixture: "key_conflict.toml",
        message: "`t` is also the key of `test`",
        line: 3,
        column: 1,
    },
    Expected {
        fixture: "alert_when.toml",
        message: "`10` is not a percentage; write it like 10%",
        line: 10,
        column: 8,
    },
    Expected {
        fixture: "alert_notify.toml",
        message: "`orders` is a `http` integration and cannot deliver a notification",
        line: 11,
        column: 11,
    },
    Expected {
        fixture: "alert_watches.toml",
        message: "alert watches `order`, which is not an integration",
        line: 11,
        column: 17,
    },
    Expected {
        fixture: "blueprint_param.toml",
        message: "blueprint `github-issues` needs param `repo`",
        line: 4,
        column: 8,
    },
    Expected {
        fixture: "unknown_blueprint.toml",
        message: "unknown blueprint `jira-isues`",
        line: 3,
        column: 8,
    },
    Expected {
        fixture: "maintenance.toml",
        message: "day-of-week",
        line: 5,
        column: 24,
    },
];

fn check_json(home: &Home, config: &std::path::Path) -> (i32, Value) {
    let output = home
        .patchbay()
        .arg("--config")
        .arg(config)
        .args(["check", "--json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code().unwrap(), json)
}

#[test]
fn the_shipped_config_is_valid() {
    let home = Home::new();
    let config = repo_file("connectors.toml");
    let (code, json) = check_json(&home, &config);
    assert_eq!(code, 0, "{json:#}");
    let integrations = json["integrations"].as_array().unwrap();
    assert!(!integrations.is_empty());
    let scheduled = integrations
        .iter()
        .find(|i| i["schedule"].is_string())
        .unwrap();
    let fires = scheduled["next_fires"].as_array().unwrap();
    assert_eq!(fires.len(), 3);
    for fire in fires {
        chrono::DateTime::parse_from_rfc3339(fire.as_str().unwrap()).unwrap();
    }
    assert!(!home.store_file().exists(), "check must not create a store");
    let text = home
        .patchbay()
        .arg("--config")
        .arg(&config)
        .arg("check")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(stdout.starts_with("NAME"), "{stdout}");
}

#[test]
fn every_bad_config_exits_2_and_names_file_line_and_column() {
    let home = Home::new();
    for expected in BAD_CONFIGS {
        let path = repo_file("tests/fixtures/invalid").join(expected.fixture);
        let (code, json) = check_json(&home, &path);
        assert_eq!(code, 2, "{}: {json:#}", expected.fixture);
        let problems = json["problems"].as_array().unwrap();
        let problem = problems
            .iter()
            .find(|p| p["message"].as_str().unwrap().contains(expected.message))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no `{}` in {json:#}",
                    expected.fixture, expected.message
                )
            });
        assert_eq!(
            (problem["line"].as_u64(), problem["column"].as_u64()),
            (Some(expected.line), Some(expected.column)),
            "{}",
            expected.fixture
        );
        assert_eq!(
            problem["file"].as_str().unwrap(),
            path.display().to_string()
        );

        let output = home
            .patchbay()
            .arg("--config")
            .arg(&path)
            .arg("check")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let location = format!("{}:{}:{}", path.display(), expected.line, expected.column);
        assert!(stderr.contains(&location), "{}: {stderr}", expected.fixture);
        assert!(stderr.contains('^'), "a caret under the offending text");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn suggestions_for_near_misses() {
    let home = Home::new();
    let path = repo_file("tests/fixtures/invalid/unknown_key.toml");
    let (_, json) = check_json(&home, &path);
    assert_eq!(json["problems"][0]["help"], "did you mean `rotate_bytes`?");
    let path = repo_file("tests/fixtures/invalid/unknown_output.toml");
    let (_, json) = check_json(&home, &path);
    assert_eq!(json["problems"][0]["help"], "did you mean `archive`?");
}

#[test]
fn a_missing_secret_is_a_located_warning_and_a_present_one_is_ok() {
    let home = Home::new();
    let config = home.path("connectors.toml");
    std::fs::write(
        &config,
        "[[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/\"\nsigning_secret = \"secret:hook_key\"\n",
    )
    .unwrap();
    let (code, json) = check_json(&home, &config);
    assert_eq!(code, 0, "a warning does not fail the check");
    let problem = &json["problems"][0];
    assert_eq!(problem["severity"], "warning");
    assert_eq!(problem["message"], "secret `hook_key` is not in the vault");
    assert_eq!(
        (problem["line"].as_u64(), problem["column"].as_u64()),
        (Some(5), Some(18))
    );
    assert_eq!(json["integrations"][0]["secrets"][0]["exists"], false);

    home.patchbay()
        .args(["secret", "set", "hook_key"])
        .write_stdin("hook-signing-key-1\n")
        .assert()
        .success();
    let (code, json) = check_json(&home, &config);
    assert_eq!(code, 0);
    assert_eq!(json["problems"].as_array().unwrap().len(), 0, "{json:#}");
    assert_eq!(json["integrations"][0]["secrets"][0]["exists"], true);
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let home = Home::new();
    let output = home
        .patchbay()
        .args(["--config", "nope.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no config file found"));
}

/// Every URL-like setting must go through `ConfigUrl`, which expands `${VAR:-default}`:
/// loaded as a user has it (the variable unset), the shipped config keeps none unexpanded.
#[test]
fn the_shipped_config_expands_every_variable_it_uses() {
    let config = patchbay::config::Config::load(&repo_file("connectors.toml")).unwrap();
    assert!(config.is_valid(), "{}", config.render_problems());
    assert!(
        std::env::var_os("PATCHBAY_SANDBOX_URL").is_none(),
        "the test needs the variable unset"
    );
    for integration in &config.integrations {
        let loaded = format!("{:?} {:?}", integration.settings, integration.auth);
        assert!(
            !loaded.contains("${"),
            "{}: a setting kept `${{...}}`: {loaded}",
            integration.name
        );
    }
}

/// The file a new user wrote from the docs, with every mistake they made: `check`
/// reports them all in one pass, each in the user's words, at the value at fault.
#[test]
fn every_mistake_of_a_first_config_is_reported_in_one_pass() {
    let home = Home::new();
    std::fs::copy(
        repo_file("tests/fixtures/invalid/first_hour.toml"),
        home.path("connectors.toml"),
    )
    .unwrap();
    let output = home.patchbay().arg("check").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    insta::assert_snapshot!(stderr);
}

#[test]
fn an_instance_is_listed_with_its_blueprint_and_what_it_expanded_to() {
    let home = Home::new();
    let (code, json) = check_json(&home, &repo_file("connectors.toml"));
    assert_eq!(code, 0, "{json:#}");
    let issues = json["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "shop-issues")
        .expect("the demo uses github-issues");
    assert_eq!(issues["blueprint"], "github-issues");
    assert_eq!(issues["expanded"]["paginate"]["type"], "link_header");
    assert_eq!(issues["expanded"]["auth"]["token"], "secret:github_token");
}

#[test]
fn blueprint_list_and_show_describe_the_shipped_library() {
    let home = Home::new();
    let list = home
        .patchbay()
        .args(["blueprint", "list"])
        .assert()
        .success();
    let list = String::from_utf8_lossy(&list.get_output().stdout).into_owned();
    for name in [
        "github-issues",
        "jira-issues",
        "slack-history",
        "msgraph-users",
    ] {
        assert!(list.contains(name), "{list}");
    }
    let show = home
        .patchbay()
        .args(["blueprint", "show", "slack-history"])
        .assert()
        .success();
    let show = String::from_utf8_lossy(&show.get_output().stdout).into_owned();
    assert!(
        show.contains("https://api.slack.com/methods/conversations.history"),
        "{show}"
    );
    assert!(show.contains("uses = \"slack-history\""), "{show}");
    let unknown = home
        .patchbay()
        .args(["blueprint", "show", "slack-histroy"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&unknown.get_output().stderr).into_owned();
    assert!(stderr.contains("did you mean `slack-history`?"), "{stderr}");
}
