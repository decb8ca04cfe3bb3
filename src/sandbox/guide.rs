//! What the sandbox offers, in one place: its endpoints, the credentials it accepts and
//! the `patchbay secret set` commands that store them for the shipped
//! `connectors.toml`. `patchbay sandbox` prints it and `GET /` serves it, so nobody
//! has to read the sandbox's source to point a config at it.

use super::{credentials, demo_secrets};

/// One route: how to call it and what it answers.
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub what: &'static str,
}

/// Every route of the sandbox, in the order a new user meets them.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "GET",
        path: "/api/users",
        what: "cursor pages: ?cursor=<last id>&limit=N -> {users, next_cursor}; header X-Api-Key",
    },
    Endpoint {
        method: "GET",
        path: "/api/orders",
        what: "page numbers: ?page=N&per_page=M&updated_since=<RFC 3339> -> {data, page, total_pages}, oldest first",
    },
    Endpoint {
        method: "GET",
        path: "/api/events",
        what: "Link header: ?page=N, next page in Link: <...>; rel=\"next\"",
    },
    Endpoint {
        method: "GET",
        path: "/api/tickets",
        what: "offsets: ?offset=N&limit=M -> {tickets, total}; Basic auth",
    },
    Endpoint {
        method: "GET",
        path: "/api/articles",
        what: "next URL: ?page=N -> {articles, next}",
    },
    Endpoint {
        method: "GET",
        path: "/api/records",
        what: "a large collection for benchmarks: ?cursor&limit&total",
    },
    Endpoint {
        method: "GET",
        path: "/api/secure",
        what: "behind OAuth2: a bearer access token from /oauth/token (tokens live 20 s)",
    },
    Endpoint {
        method: "GET",
        path: "/api/private",
        what: "401 unless Authorization: Bearer <private token>",
    },
    Endpoint {
        method: "GET",
        path: "/api/flaky",
        what: "every third call fails with a 503 or a 500",
    },
    Endpoint {
        method: "GET",
        path: "/api/limited",
        what: "429 with Retry-After past its rate limit",
    },
    Endpoint {
        method: "GET",
        path: "/api/slow",
        what: "every third call answers too late for a sensible timeout",
    },
    Endpoint {
        method: "GET",
        path: "/api/broken",
        what: "claims JSON, sends a truncated document",
    },
    Endpoint {
        method: "POST",
        path: "/graphql",
        what: "repositories(first, after) with pageInfo; a query naming brokenField gets GraphQL errors",
    },
    Endpoint {
        method: "GET",
        path: "/feed.xml",
        what: "RSS 2.0, items appear over time",
    },
    Endpoint {
        method: "GET",
        path: "/atom.xml",
        what: "Atom, items appear over time",
    },
    Endpoint {
        method: "POST",
        path: "/oauth/token",
        what: "OAuth2 token endpoint: client_credentials, refresh_token (rotates on use), device_code, authorization_code (checks PKCE)",
    },
    Endpoint {
        method: "GET",
        path: "/oauth/authorize",
        what: "OAuth2 authorization (S256 PKCE required); approves at once and redirects to redirect_uri with code and state",
    },
    Endpoint {
        method: "POST",
        path: "/oauth/device",
        what: "OAuth2 device authorization (RFC 8628); approves after a few polls",
    },
    Endpoint {
        method: "GET",
        path: "/health/ok",
        what: "always {\"status\": \"UP\"}",
    },
    Endpoint {
        method: "GET",
        path: "/health/degraded",
        what: "UP, after 800 ms",
    },
    Endpoint {
        method: "GET",
        path: "/health/flapping",
        what: "up for 30 s, down for 30 s",
    },
    Endpoint {
        method: "POST",
        path: "/sink/webhook",
        what: "a receiver that verifies X-Patchbay-Signature (401 otherwise); X-Patchbay-Test requests are answered, not counted",
    },
    Endpoint {
        method: "POST",
        path: "/sink/slack",
        what: "a Slack incoming webhook; also at /services/T.../B.../<token>, Slack's own URL shape",
    },
    Endpoint {
        method: "POST",
        path: "/sink/discord",
        what: "a Discord webhook (429 with retry_after now and then); also at /api/webhooks/<id>/<token>",
    },
    Endpoint {
        method: "GET",
        path: "/sink/stats",
        what: "what the sinks received: deliveries, records, refusals, tests, the last Slack text",
    },
    Endpoint {
        method: "GET",
        path: "/github/repos/acme/shop/issues",
        what: "GitHub issues: per_page/page, Link, since, X-RateLimit-*",
    },
    Endpoint {
        method: "GET",
        path: "/jira/rest/api/3/search",
        what: "Jira Cloud JQL search: startAt/maxResults; basic email:token",
    },
    Endpoint {
        method: "GET",
        path: "/bamboohr/api/gateway.php/acme/v1/employees/directory",
        what: "BambooHR directory: the API key as basic user",
    },
    Endpoint {
        method: "GET",
        path: "/slack/conversations.history",
        what: "Slack history: cursor, oldest, errors as 200 {\"ok\": false}",
    },
    Endpoint {
        method: "POST",
        path: "/notion/v1/databases/demo/query",
        what: "Notion database query: start_cursor in the body, Notion-Version",
    },
    Endpoint {
        method: "GET",
        path: "/msgraph/v1.0/users",
        what: "Microsoft Graph users: $top, @odata.nextLink; token from the next route",
    },
    Endpoint {
        method: "POST",
        path: "/msgraph/login/contoso/oauth2/v2.0/token",
        what: "Entra ID token endpoint (client credentials)",
    },
    Endpoint {
        method: "GET",
        path: "/pagerduty/incidents",
        what: "PagerDuty incidents: offset/limit/more, Token token=KEY",
    },
    Endpoint {
        method: "POST",
        path: "/vendors/github/throttle",
        what: "?times=N: the next N requests to that vendor (github, jira, bamboohr, slack, notion, msgraph, pagerduty) get its rate-limit answer",
    },
];

/// The guide as text, for the terminal and for `GET /`.
pub fn text(url: &str) -> String {
    let mut out = format!("patchbay sandbox at {url}\n\nEndpoints:\n");
    for endpoint in ENDPOINTS {
        out.push_str(&format!(
            "  {:<5}{:<18} {}\n",
            endpoint.method, endpoint.path, endpoint.what
        ));
    }
    out.push_str("\nCredentials it accepts:\n");
    let basic = format!(
        "{}:{}",
        credentials::BASIC_USER,
        credentials::BASIC_PASSWORD
    );
    let client = format!(
        "{} / {}",
        credentials::CLIENT_ID,
        credentials::CLIENT_SECRET
    );
    for (what, value) in [
        ("API key (X-Api-Key, /api/users)", credentials::API_KEY),
        ("bearer token (/api/private)", credentials::PRIVATE_TOKEN),
        ("Basic user:password (/api/tickets)", basic.as_str()),
        ("OAuth2 client id / secret", client.as_str()),
        (
            "OAuth2 first refresh token",
            credentials::INITIAL_REFRESH_TOKEN,
        ),
        (
            "webhook signing key (/sink/webhook)",
            credentials::WEBHOOK_SIGNING_KEY,
        ),
        (
            "vendor routes' token or API key",
            super::vendors::VENDOR_TOKEN,
        ),
        ("Jira account (basic user)", super::vendors::JIRA_EMAIL),
    ] {
        out.push_str(&format!("  {what:<38} {value}\n"));
    }
    out.push_str(
        "\nTo run the shipped connectors.toml against it, store its secrets (partner_token is\nwrong on purpose, to show an auth failure) and point it here:\n\n",
    );
    for (name, value) in demo_secrets(url) {
        out.push_str(&format!(
            "  printf %s '{value}' | patchbay secret set {name}\n"
        ));
    }
    out.push_str(&format!("  export PATCHBAY_SANDBOX_URL={url}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_lists_every_endpoint_and_each_secret_command() {
        let text = text("http://127.0.0.1:8080");
        for endpoint in ENDPOINTS {
            assert!(text.contains(endpoint.path));
        }
        assert!(text.contains(
            "printf %s 'http://127.0.0.1:8080/sink/slack' | patchbay secret set team_slack_url"
        ));
        assert!(text.ends_with("export PATCHBAY_SANDBOX_URL=http://127.0.0.1:8080\n"));
    }
}
