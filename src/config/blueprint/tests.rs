use std::path::Path;

use crate::config::kinds::KindSettings;
use crate::config::{Auth, Config, SourceFile};

use super::Library;

fn parse(text: &str) -> Config {
    Config::parse(SourceFile::new("c.toml", text))
}

/// The first problem's rendered text, `file:line:column` included.
fn first_problem(config: &Config) -> String {
    config
        .problems
        .first()
        .map(|p| p.render(&config.source))
        .unwrap_or_default()
}

const JIRA_INSTANCE: &str = r#"
[[integration]]
name = "ops-issues"
uses = "jira-issues"
params = { site = "https://acme.atlassian.net/", email = "ops@acme.test", token = "secret:jira-token" }
"#;

#[test]
fn the_shipped_blueprints_load_without_a_problem() {
    let config = parse("");
    assert!(config.problems.is_empty(), "{}", config.render_problems());
    let names: Vec<&str> = config.blueprints.iter().map(|b| b.name.as_str()).collect();
    for shipped in [
        "bamboohr-directory",
        "github-issues",
        "jira-issues",
        "msgraph-users",
        "notion-database",
        "pagerduty-incidents",
        "slack-history",
    ] {
        assert!(names.contains(&shipped), "{shipped} in {names:?}");
    }
}

#[test]
fn an_instance_is_the_blueprint_with_its_params_filled_in() {
    let config = parse(JIRA_INSTANCE);
    assert!(config.is_valid(), "{}", config.render_problems());
    let issues = config.integration("ops-issues").unwrap();
    assert_eq!(issues.blueprint.as_deref(), Some("jira-issues"));
    let KindSettings::Http(http) = &issues.settings else {
        panic!("an http integration")
    };
    // The trailing slash of a URL param is dropped, so the path has one.
    assert_eq!(
        http.request.url.url().as_str(),
        "https://acme.atlassian.net/rest/api/3/search"
    );
    // The default `project` went into the JQL.
    assert_eq!(
        http.request.query["jql"],
        r#"project = "OPS" ORDER BY updated ASC"#
    );
    let Auth::Basic { username, password } = &issues.auth else {
        panic!("basic auth")
    };
    assert_eq!(username.to_string(), "[redacted]");
    assert_eq!(password.vault_name(), Some("jira-token"));
    assert_eq!(issues.secrets[0].name, "jira-token");
    // The secret's location is the instance's own param, where it can be changed.
    let at = config.source.position(issues.secrets[0].span.start);
    assert_eq!(at.line, 5);
    // `check --json` shows the expansion.
    let expanded = &config.expanded["ops-issues"];
    assert_eq!(
        expanded["request"]["url"],
        "https://acme.atlassian.net/rest/api/3/search"
    );
    assert_eq!(expanded["auth"]["password"], "secret:jira-token");
}

#[test]
fn an_instance_overrides_any_key_and_merges_tables() {
    let config = parse(&format!(
        "{JIRA_INSTANCE}every = \"1h\"\n[integration.records]\nprimary_key = \"key\"\n"
    ));
    assert!(config.is_valid(), "{}", config.render_problems());
    let issues = config.integration("ops-issues").unwrap();
    assert_eq!(
        issues.schedule.as_ref().map(|s| s.to_string()).as_deref(),
        Some("every \"1h\"")
    );
    let KindSettings::Http(http) = &issues.settings else {
        panic!("an http integration")
    };
    assert_eq!(http.records.primary_key.as_deref(), Some("key"));
    // The rest of the blueprint's [records] table stays.
    assert_eq!(format!("{:?}", http.records.path), "JsonPath($.issues[*])");
}

#[test]
fn a_secret_param_literal_is_refused_with_the_vault_as_the_fix() {
    let config = parse(&JIRA_INSTANCE.replace("secret:jira-token", "hunter2-literal"));
    assert!(!config.is_valid());
    let text = first_problem(&config);
    assert!(
        text.contains("param `token` must be a credential reference"),
        "{text}"
    );
    assert!(text.contains("c.toml:5:"), "{text}");
    assert!(text.contains("patchbay secret set"), "{text}");
    assert!(
        !config.render_problems().contains("hunter2"),
        "the literal is not echoed"
    );
}

#[test]
fn missing_unknown_and_mistyped_params_are_located_with_help() {
    let config = parse(
        r#"
[[integration]]
name = "ops-issues"
uses = "jira-issues"
params = { site = "not a url", projct = "OPS", token = "secret:t" }
"#,
    );
    let all = config.render_problems();
    assert!(all.contains("unknown param `projct`"), "{all}");
    assert!(all.contains("did you mean `project`?"), "{all}");
    assert!(all.contains("param `site` must be an http(s) URL"), "{all}");
    assert!(
        all.contains("blueprint `jira-issues` needs param `email`"),
        "{all}"
    );
    assert!(
        all.contains("c.toml:4:8"),
        "missing params point at `uses`: {all}"
    );
    assert!(config.integrations.is_empty());
    assert_eq!(config.declared.integrations, 1);
}

#[test]
fn an_unknown_blueprint_gets_did_you_mean() {
    let config = parse("[[integration]]\nname = \"a\"\nuses = \"jira-isues\"\n");
    let text = first_problem(&config);
    assert!(text.contains("unknown blueprint `jira-isues`"), "{text}");
    assert!(text.contains("did you mean `jira-issues`?"), "{text}");
    assert!(text.contains("c.toml:3:8"), "{text}");
}

#[test]
fn a_blueprint_in_the_config_is_checked_where_it_is_written() {
    let config = parse(
        r#"
[[blueprint]]
name = "inner"
uses = "jira-issues"
params.base = { type = "url" }
params.unused = { type = "string" }
kind = "http"
every = "5m"
[blueprint.request]
url = "${params.base}/x/${params.bsae}"
"#,
    );
    let all = config.render_problems();
    assert!(
        all.contains("a blueprint cannot use another blueprint"),
        "{all}"
    );
    assert!(all.contains("c.toml:4:1"), "{all}");
    assert!(
        all.contains("param `unused` is not used by any key of the blueprint"),
        "{all}"
    );
    assert!(
        all.contains("`${params.bsae}` is not a param of blueprint `inner`"),
        "{all}"
    );
    assert!(all.contains("did you mean `${params.base}`?"), "{all}");
}

#[test]
fn a_blueprint_declared_in_the_config_replaces_a_shipped_one_and_keeps_its_lines() {
    let config = parse(
        r#"
[[blueprint]]
name = "jira-issues"
params.site = { type = "url" }
kind = "htpp"
every = "5m"
[blueprint.request]
url = "${params.site}/search"

[[integration]]
name = "mine"
uses = "jira-issues"
params = { site = "https://x.test" }
"#,
    );
    let text = first_problem(&config);
    // The bad kind is reported at its own line in the blueprint, for the instance.
    assert!(text.contains("unknown kind `htpp`"), "{text}");
    assert!(text.contains("c.toml:5:8"), "{text}");
    assert!(text.contains("(integration `mine`)"), "{text}");
}

#[test]
fn blueprint_files_next_to_the_config_are_found_and_their_problems_located_there() {
    let dir = tempfile::tempdir().unwrap();
    let blueprints = dir.path().join("blueprints");
    std::fs::create_dir(&blueprints).unwrap();
    std::fs::write(
        blueprints.join("status.toml"),
        r#"[[blueprint]]
name = "status-page"
params.host = { type = "url" }
kind = "http"
every = "1m"
[blueprint.request]
url = "${params.host}/api/v2/status.json"
"#,
    )
    .unwrap();
    std::fs::write(blueprints.join("broken.toml"), "[[blueprint]]\nname = \n").unwrap();
    let config_path = dir.path().join("connectors.toml");
    std::fs::write(
        &config_path,
        "[[integration]]\nname = \"vendor\"\nuses = \"status-page\"\nparams = { host = \"https://status.test\" }\n",
    )
    .unwrap();
    let config = Config::load(&config_path).unwrap();
    let vendor = config.integration("vendor").expect("the instance decoded");
    assert_eq!(vendor.blueprint.as_deref(), Some("status-page"));
    let broken = config
        .problems
        .iter()
        .find(|p| p.message.contains("invalid TOML in a blueprint file"))
        .expect("the broken file is reported");
    let rendered = broken.render(&config.source);
    let broken_path = blueprints.join("broken.toml");
    assert!(
        rendered.contains(&format!("{}:2:", broken_path.display())),
        "{rendered}"
    );
    let info = config
        .blueprints
        .iter()
        .find(|b| b.name == "status-page")
        .unwrap();
    assert!(Path::new(&info.source).ends_with("blueprints/status.toml"));
    assert!(Library::discover(&config_path).files.len() > Library::shipped().files.len());
}

#[test]
fn env_references_pass_through_to_the_url_and_placeholders_to_minijinja() {
    let config = parse(
        r#"
[[blueprint]]
name = "local"
params.path = { type = "string" }
kind = "http"
every = "1m"
[blueprint.request]
url = "${PATCHBAY_TEST_UNSET_HOST:-http://127.0.0.1:1}/${params.path}"
method = "POST"
body = '{"after": {{ cursor | tojson }}}'

[[integration]]
name = "a"
uses = "local"
params = { path = "v1/items" }
"#,
    );
    assert!(config.is_valid(), "{}", config.render_problems());
    let KindSettings::Http(http) = &config.integration("a").unwrap().settings else {
        panic!("an http integration")
    };
    assert_eq!(
        http.request.url.url().as_str(),
        "http://127.0.0.1:1/v1/items"
    );
    assert_eq!(
        http.request.body.as_deref(),
        Some(r#"{"after": {{ cursor | tojson }}}"#)
    );
}
