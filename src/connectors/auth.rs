//! `[integration.auth]` applied to an outgoing request, and the one retry after a 401
//! that an OAuth2 integration gets with a fresh token.

use reqwest::RequestBuilder;
use secrecy::ExposeSecret;

use super::oauth;
use crate::config::{ApiKeyLocation, Auth};
use crate::domain::Failure;
use crate::domain::run::ErrorClass;
use crate::runtime::context::RunContext;
use crate::runtime::http::{Fetched, RequestPolicy};

/// Adds the integration's credentials to `request`.
pub async fn apply(
    ctx: &RunContext,
    auth: &Auth,
    request: RequestBuilder,
) -> Result<RequestBuilder, Failure> {
    Ok(match auth {
        Auth::None => request,
        Auth::Bearer { token } => request.bearer_auth(ctx.resolve(token)?.expose_secret()),
        Auth::Basic { username, password } => request.basic_auth(
            ctx.resolve(username)?.expose_secret(),
            Some(ctx.resolve(password)?.expose_secret()),
        ),
        Auth::ApiKey {
            key,
            location,
            name,
            prefix,
        } => {
            let value = format!("{prefix}{}", ctx.resolve(key)?.expose_secret());
            match location {
                ApiKeyLocation::Header => request.header(name.as_str(), value),
                ApiKeyLocation::Query => request.query(&[(name.as_str(), value)]),
            }
        }
        Auth::OAuth2ClientCredentials { .. }
        | Auth::OAuth2RefreshToken { .. }
        | Auth::OAuth2Device { .. }
        | Auth::OAuth2AuthorizationCode { .. } => {
            request.bearer_auth(oauth::access_token(ctx, auth).await?.expose_secret())
        }
    })
}

/// Builds, authorizes and sends a request. An OAuth2 integration whose token is
/// refused gets one more try with a new token before the failure stands.
pub async fn send(
    ctx: &RunContext,
    policy: &RequestPolicy<'_>,
    build: impl Fn() -> Result<RequestBuilder, Failure>,
) -> Result<Fetched, Failure> {
    let auth = &ctx.integration.auth;
    let request = apply(ctx, auth, build()?)
        .await?
        .build()
        .map_err(build_failure)?;
    match ctx.send_with(request, policy).await {
        Err(failure) if failure.class == ErrorClass::Auth && oauth::is_oauth(auth) => {
            ctx.log("the access token was refused; fetching a new one and trying once more");
            ctx.tokens().invalidate(&ctx.integration.name);
            if let Some(vault) = ctx.vault() {
                let _ = vault.forget(&oauth::access_secret(&ctx.integration.name));
            }
            let request = apply(ctx, auth, build()?)
                .await?
                .build()
                .map_err(build_failure)?;
            ctx.send_with(request, policy).await
        }
        other => other,
    }
}

fn build_failure(error: reqwest::Error) -> Failure {
    Failure::config(
        format!("cannot build the request: {error}"),
        "check the URL and headers",
    )
}
