//! `[integration.auth]` applied to an outgoing request.

use reqwest::RequestBuilder;
use secrecy::ExposeSecret;

use crate::config::{ApiKeyLocation, Auth};
use crate::engine::classify::Failure;
use crate::engine::context::RunContext;

/// Adds the integration's credentials to `request`.
pub fn apply(
    ctx: &RunContext,
    auth: &Auth,
    request: RequestBuilder,
) -> Result<RequestBuilder, Failure> {
    Ok(match auth {
        Auth::None => request,
        Auth::Bearer { token } => request.bearer_auth(ctx.resolve(token)?.expose_secret()),
        Auth::Basic { username, password } => {
            request.basic_auth(username, Some(ctx.resolve(password)?.expose_secret()))
        }
        Auth::ApiKey {
            key,
            location,
            name,
        } => {
            let value = ctx.resolve(key)?;
            match location {
                ApiKeyLocation::Header => request.header(name.as_str(), value.expose_secret()),
                ApiKeyLocation::Query => request.query(&[(name.as_str(), value.expose_secret())]),
            }
        }
        Auth::OAuth2ClientCredentials { .. }
        | Auth::OAuth2RefreshToken { .. }
        | Auth::OAuth2Device { .. } => {
            return Err(Failure::config(
                format!(
                    "auth type `{}` is not supported by this build yet",
                    auth.type_name()
                ),
                "use bearer, basic or api_key auth for now",
            ));
        }
    })
}
